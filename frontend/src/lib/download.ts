import { apiErrorOf, send, type RequestOptions } from "@/lib/api-client";

/** Fetch a file from the API with the caller's token (a plain link could not send it) and save it. */
export async function downloadFile(path: string, filename: string, query?: RequestOptions["query"]): Promise<void> {
  const response = await send(path, { query });
  if (!response.ok) throw await apiErrorOf(response);
  saveBlob(await response.blob(), filename);
}

/** Save a blob under `filename` through a temporary link. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
