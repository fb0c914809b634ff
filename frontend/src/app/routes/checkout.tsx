import { useNavigate, useParams, useSearchParams } from "react-router";

import { TicketButton } from "@/features/bookings/components/ticket-button";
import { CheckoutPanel } from "@/features/checkout/components/checkout-panel";
import { ShowtimeHeader } from "@/features/seats/components/showtime-header";

import { NotFoundRoute } from "./not-found";
import { RequireAuth } from "./require-auth";

export function CheckoutRoute() {
  const showtimeId = Number(useParams().showtimeId);
  const [params] = useSearchParams();
  const navigate = useNavigate();
  if (!Number.isInteger(showtimeId) || showtimeId < 1) return <NotFoundRoute />;
  const seatIds = (params.get("seats") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return (
    <RequireAuth>
      <div className="mx-auto max-w-2xl space-y-6">
        <ShowtimeHeader showtimeId={showtimeId} />
        <CheckoutPanel
          showtimeId={showtimeId}
          seatIds={seatIds}
          onBack={() => navigate(`/showtimes/${showtimeId}`)}
          renderBooking={(booking) => (
            <div className="flex flex-wrap items-start gap-3">
              <TicketButton bookingId={booking.id} reference={booking.reference} />
              <button type="button" onClick={() => navigate("/bookings")}
                      className="h-10 rounded-lg px-4 text-sm font-semibold text-gold-400 hover:bg-ink-800">
                View my bookings
              </button>
            </div>
          )}
        />
      </div>
    </RequireAuth>
  );
}
