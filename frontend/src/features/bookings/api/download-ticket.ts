import { useMutation } from "@tanstack/react-query";

import { apiErrorOf, send } from "@/lib/api-client";
import { saveBlob } from "@/lib/download";

const MAX_WAITS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The ticket PDF (bearer token required). 202 means it is still rendering: wait Retry-After seconds
 * and ask again. `onWaiting` reports each wait so the UI can say so.
 */
export async function fetchTicket(bookingId: number, onWaiting?: (seconds: number) => void): Promise<Blob> {
  for (let attempt = 0; ; attempt++) {
    const response = await send(`/payments/bookings/${bookingId}/ticket.pdf`);
    if (response.status === 202) {
      if (attempt >= MAX_WAITS) throw new Error("The ticket is taking longer than usual. Please try again shortly.");
      const seconds = Math.min(30, Math.max(1, Number(response.headers.get("Retry-After")) || 2));
      onWaiting?.(seconds);
      await sleep(seconds * 1000);
      continue;
    }
    if (!response.ok) throw await apiErrorOf(response);
    return response.blob();
  }
}

export function useDownloadTicket(onWaiting?: (seconds: number) => void) {
  return useMutation({
    mutationFn: async ({ bookingId, reference }: { bookingId: number; reference: string }) => {
      saveBlob(await fetchTicket(bookingId, onWaiting), `cineverse-ticket-${reference}.pdf`);
    },
  });
}
