import { Link } from "react-router";

import { Alert } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDateTime } from "@/lib/format";

import { useShowtime } from "../api/get-showtime";

export function ShowtimeHeader({ showtimeId }: { showtimeId: number }) {
  const showtime = useShowtime(showtimeId);
  if (showtime.isError) return <Alert title="Could not load this showtime">{errorMessage(showtime.error)}</Alert>;
  if (!showtime.data) return <div className="h-14" />;
  const s = showtime.data;
  return (
    <div>
      <Link to={`/movies/${s.movie.id}`} className="text-sm text-slate-400 hover:text-gold-300">
        ← {s.movie.title}
      </Link>
      <h1 className="mt-1 text-2xl font-bold tracking-tight text-white">{s.movie.title}</h1>
      <p className="text-sm text-slate-400">
        {s.theatre.name}, {s.theatre.city} · {s.screen.name} · {formatDateTime(s.starts_at)}
      </p>
      {s.status !== "scheduled" && <Alert tone="warning" className="mt-3">This showtime is {s.status}.</Alert>}
    </div>
  );
}
