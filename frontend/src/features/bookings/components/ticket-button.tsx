import { useState } from "react";

import { Button } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";

import { useDownloadTicket } from "../api/download-ticket";

export function TicketButton({ bookingId, reference, size = "md" }:
                               { bookingId: number; reference: string; size?: "sm" | "md" }) {
  const [waiting, setWaiting] = useState(false);
  const download = useDownloadTicket(() => setWaiting(true));
  return (
    <div className="space-y-1">
      <Button variant="secondary" size={size} loading={download.isPending}
              aria-label={`Download ticket ${reference}`}
              onClick={() => {
                setWaiting(false);
                download.mutate({ bookingId, reference });
              }}>
        {download.isPending && waiting ? "Rendering ticket…" : "Download ticket (PDF)"}
      </Button>
      {download.isError && <p role="alert" className="text-xs text-rose-400">{errorMessage(download.error)}</p>}
    </div>
  );
}
