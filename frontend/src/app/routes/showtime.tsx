import { useNavigate, useParams } from "react-router";

import { SeatPicker } from "@/features/seats/components/seat-picker";
import { ShowtimeHeader } from "@/features/seats/components/showtime-header";

import { NotFoundRoute } from "./not-found";

export function ShowtimeRoute() {
  const showtimeId = Number(useParams().showtimeId);
  const navigate = useNavigate();
  if (!Number.isInteger(showtimeId) || showtimeId < 1) return <NotFoundRoute />;
  const here = `/showtimes/${showtimeId}`;
  return (
    <div className="space-y-6">
      <ShowtimeHeader showtimeId={showtimeId} />
      <SeatPicker
        showtimeId={showtimeId}
        onNeedSignIn={() => navigate(`/signin?next=${encodeURIComponent(here)}&reason=seats`)}
        onCheckout={(seatIds) => navigate(`/checkout/${showtimeId}?seats=${seatIds.join(",")}`)}
      />
    </div>
  );
}
