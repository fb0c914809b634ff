import { useRef, useState, type FormEvent } from "react";

import { Alert, Button, Card } from "@/components/ui";
import { ApiError, errorMessage } from "@/lib/api-client";
import { formatDateTime, formatMoney } from "@/lib/format";

import { useCheckIn } from "../api/check-in";
import { describeSeats } from "../utils/summaries";

function refusal(error: unknown): { title: string; message: string } {
  if (error instanceof ApiError) {
    if (error.code === "already_checked_in") {
      const at = typeof error.details.checked_in_at === "string" ? error.details.checked_in_at : null;
      return { title: "Already checked in", message: at ? `This ticket was admitted at ${formatDateTime(at)}.` : error.message };
    }
    if (error.code === "invalid_ticket_code") return { title: "Not a valid ticket", message: error.message };
    if (error.code === "booking_cancelled") return { title: "Booking cancelled", message: error.message };
    if (error.code === "booking_not_found") return { title: "No such booking", message: error.message };
  }
  return { title: "Not admitted", message: errorMessage(error) };
}

/** Paste (or scan into) the ticket QR code text; the booking is admitted once. */
export function CheckInForm() {
  const [code, setCode] = useState("");
  const checkIn = useCheckIn();
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const payload = code.trim();
    if (!payload) return;
    checkIn.mutate(payload, {
      onSuccess: () => setCode(""),
      onSettled: () => inputRef.current?.focus(),
    });
  };
  const booking = checkIn.data;
  const refused = checkIn.isError ? refusal(checkIn.error) : null;

  return (
    <section aria-labelledby="checkin-heading" className="max-w-2xl space-y-4">
      <div>
        <h2 id="checkin-heading" className="text-xl font-semibold text-white">Check-in</h2>
        <p className="mt-1 text-sm text-slate-400">Scan a ticket's QR code into the field, or paste its text, then admit.</p>
      </div>
      <Card className="p-5">
        <form onSubmit={submit} className="space-y-3" aria-label="Check in a ticket">
          <label htmlFor="ticket-code" className="block text-xs font-medium text-slate-300">Ticket code</label>
          <textarea id="ticket-code" ref={inputRef} rows={2} required maxLength={512} autoFocus spellCheck={false}
                    autoComplete="off" value={code} placeholder="CV1.…"
                    onChange={(e) => setCode(e.target.value)}
                    onKeyDown={(e) => {
                      // scanners end with Enter: submit rather than add a line
                      if (e.key === "Enter" && !e.shiftKey) {
                        e.preventDefault();
                        e.currentTarget.form?.requestSubmit();
                      }
                    }}
                    className="w-full rounded-lg bg-ink-900 px-3 py-2 font-mono text-sm text-slate-100 ring-1 ring-ink-600
                      placeholder:text-slate-500 focus:outline-none focus:ring-2 focus:ring-gold-400" />
          <Button type="submit" loading={checkIn.isPending} disabled={!code.trim()}>Admit</Button>
        </form>
      </Card>
      <div aria-live="polite">
        {booking && !checkIn.isPending && (
          <Alert tone="success" title={`Admitted: ${booking.reference}`}>
            <span data-testid="checkin-result">
              Showtime #{booking.showtime_id} · {describeSeats(booking)} · {formatMoney(booking.amount, booking.currency)}
              {booking.checked_in_at && ` · checked in ${formatDateTime(booking.checked_in_at)}`}
            </span>
          </Alert>
        )}
        {refused && !checkIn.isPending && <Alert title={refused.title}>{refused.message}</Alert>}
      </div>
    </section>
  );
}
