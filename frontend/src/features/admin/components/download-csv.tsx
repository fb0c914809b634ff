import { useState } from "react";

import { Button } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { downloadFile } from "@/lib/download";

type Props = { path: string; filename: string; query: Record<string, string | number | undefined>; label: string };

/** "Download CSV": every row of the report's range, as the server writes it (format=csv). */
export function DownloadCsv({ path, filename, query, label }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="flex flex-col items-start gap-1">
      <Button variant="secondary" size="sm" loading={busy} aria-label={label}
              onClick={() => {
                setBusy(true);
                setError(null);
                downloadFile(path, filename, { ...query, format: "csv" })
                  .catch((err: unknown) => setError(errorMessage(err)))
                  .finally(() => setBusy(false));
              }}>
        Download CSV
      </Button>
      {error && <p role="alert" className="text-xs text-rose-300">{error}</p>}
    </div>
  );
}
