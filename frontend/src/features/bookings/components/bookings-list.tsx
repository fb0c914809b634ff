import { useState } from "react";
import { Link } from "react-router";

import { Alert, Button, Card, PageSpinner, Pagination } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDateTime, formatMoney } from "@/lib/format";

import { useCancelBooking } from "../api/cancel-booking";
import { useMyBookings } from "../api/get-my-bookings";
import { useShowtimeSummary } from "../api/get-showtime-summary";
import type { Booking } from "../api/schemas";

import { TicketButton } from "./ticket-button";

const stateTone: Record<string, string> = {
  confirmed: "bg-emerald-500/15 text-emerald-300 ring-emerald-500/30",
  cancelled: "bg-rose-500/15 text-rose-300 ring-rose-500/30",
};

function BookingCard({ booking }: { booking: Booking }) {
  const showtime = useShowtimeSummary(booking.showtime_id);
  const cancel = useCancelBooking();
  const [confirming, setConfirming] = useState(false);
  const state = booking.state ?? "confirmed";
  const active = state === "confirmed";
  const s = showtime.data;

  return (
    <Card className="flex flex-col gap-4 p-5 sm:flex-row sm:items-center" data-testid="booking-card">
      <div className="flex-1 space-y-1">
        <div className="flex flex-wrap items-center gap-2">
          <h3 className="font-semibold text-white">
            {s ? <Link to={`/movies/${s.movie.id}`} className="hover:text-gold-300">{s.movie.title}</Link>
              : `Showtime #${booking.showtime_id}`}
          </h3>
          <span className={`inline-flex items-center rounded-full px-2.5 py-0.5 text-xs font-medium ring-1 ${
            stateTone[state] ?? "bg-ink-800 text-slate-300 ring-ink-600"}`}>{state.replace(/_/g, " ")}</span>
        </div>
        {s && <p className="text-sm text-slate-400">{s.theatre.name}, {s.theatre.city} · {s.screen.name} · {formatDateTime(s.starts_at)}</p>}
        <p className="text-sm text-slate-300">
          Ref <span data-testid="booking-reference" className="font-mono text-gold-300">{booking.reference}</span>
          {" · "}Seats {booking.seat_ids.join(", ")} · {formatMoney(booking.amount, booking.currency)}
        </p>
        {cancel.isError && <Alert className="mt-2">{errorMessage(cancel.error)}</Alert>}
        {cancel.data && (
          <Alert tone="success" className="mt-2">
            Booking cancelled.{cancel.data.refund_amount
              ? ` ${formatMoney(cancel.data.refund_amount, booking.currency)} will be refunded.` : ""}
          </Alert>
        )}
      </div>
      {active && (
        <div className="flex flex-wrap items-start gap-2">
          <TicketButton bookingId={booking.id} reference={booking.reference} size="sm" />
          {confirming ? (
            <div role="group" aria-label="Confirm cancellation" className="flex gap-2">
              <Button variant="danger" size="sm" loading={cancel.isPending}
                      onClick={() => cancel.mutate(booking.id, { onSettled: () => setConfirming(false) })}>
                Yes, cancel
              </Button>
              <Button variant="ghost" size="sm" onClick={() => setConfirming(false)}>Keep</Button>
            </div>
          ) : (
            <Button variant="ghost" size="sm" onClick={() => setConfirming(true)}>Cancel booking</Button>
          )}
        </div>
      )}
    </Card>
  );
}

export function BookingsList() {
  const [page, setPage] = useState(1);
  const bookings = useMyBookings(page);
  if (bookings.isPending) return <PageSpinner label="Loading your bookings…" />;
  if (bookings.isError) return <Alert title="Could not load your bookings">{errorMessage(bookings.error)}</Alert>;
  const { items, total, per_page } = bookings.data;
  if (total === 0) {
    return (
      <Card className="p-8 text-center">
        <p className="text-slate-300">You have no bookings yet.</p>
        <Link to="/" className="mt-3 inline-block text-gold-400 hover:underline">Find a movie</Link>
      </Card>
    );
  }
  return (
    <div className="space-y-3">
      {items.map((b) => <BookingCard key={b.id} booking={b} />)}
      <Pagination page={page} perPage={per_page} total={total} onPage={setPage} label="Booking pages" />
    </div>
  );
}
