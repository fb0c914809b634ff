import { useNavigate, useParams } from "react-router";

import { PageSpinner } from "@/components/ui";
import { QueueGate } from "@/features/queue/components/queue-gate";
import { useShowtime } from "@/features/seats/api/get-showtime";
import { SeatPicker } from "@/features/seats/components/seat-picker";
import { ShowtimeHeader } from "@/features/seats/components/showtime-header";

import { NotFoundRoute } from "./not-found";

export function ShowtimeRoute() {
  const showtimeId = Number(useParams().showtimeId);
  const navigate = useNavigate();
  const showtime = useShowtime(Number.isInteger(showtimeId) && showtimeId > 0 ? showtimeId : 0);
  if (!Number.isInteger(showtimeId) || showtimeId < 1) return <NotFoundRoute />;
  const here = `/showtimes/${showtimeId}`;
  const signIn = () => navigate(`/signin?next=${encodeURIComponent(here)}&reason=seats`);
  const picker = (
    <SeatPicker
      showtimeId={showtimeId}
      onNeedSignIn={signIn}
      onCheckout={(seatIds) => navigate(`/checkout/${showtimeId}?seats=${seatIds.join(",")}`)}
    />
  );
  return (
    <div className="space-y-6">
      <ShowtimeHeader showtimeId={showtimeId} />
      {showtime.isPending ? <PageSpinner label="Loading…" />
        : showtime.data ? <QueueGate showtimeId={showtimeId} onSale={showtime.data.on_sale} onNeedSignIn={signIn}>{picker}</QueueGate>
        : picker}
    </div>
  );
}
