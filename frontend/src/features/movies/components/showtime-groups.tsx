import { Link } from "react-router";

import { Alert, Card, PageSpinner } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDay, formatTime, localDayKey } from "@/lib/format";

import { useMovieShowtimes, type ShowtimeFilters } from "../api/get-movie-showtimes";
import type { Showtime } from "../api/schemas";

type Day = { key: string; label: string; theatres: { id: number; name: string; city: string; shows: Showtime[] }[] };

function group(showtimes: Showtime[]): Day[] {
  const days = new Map<string, Day>();
  for (const s of showtimes) {
    const key = localDayKey(s.starts_at);
    let day = days.get(key);
    if (!day) days.set(key, (day = { key, label: formatDay(s.starts_at), theatres: [] }));
    let theatre = day.theatres.find((t) => t.id === s.theatre.id);
    if (!theatre) day.theatres.push((theatre = { ...s.theatre, shows: [] }));
    theatre.shows.push(s);
  }
  return [...days.values()];
}

/** Upcoming showtimes, one section per day, theatres within it. */
export function ShowtimeGroups({ movieId, filters }: { movieId: number; filters: ShowtimeFilters }) {
  const showtimes = useMovieShowtimes(movieId, filters);
  if (showtimes.isPending) return <PageSpinner label="Loading showtimes…" />;
  if (showtimes.isError) return <Alert title="Could not load showtimes">{errorMessage(showtimes.error)}</Alert>;
  const days = group(showtimes.data.items.filter((s) => s.status === "scheduled"));
  if (days.length === 0) {
    return <Alert tone="info">No upcoming showtimes{filters.city ? ` in ${filters.city}` : ""}.</Alert>;
  }
  return (
    <div className="space-y-8">
      {days.map((day) => (
        <section key={day.key} aria-label={day.label}>
          <h3 className="mb-3 text-sm font-semibold uppercase tracking-wider text-gold-400">{day.label}</h3>
          <div className="space-y-3">
            {day.theatres.map((t) => (
              <Card key={t.id} className="flex flex-col gap-3 p-4 sm:flex-row sm:items-center">
                <div className="sm:w-64">
                  <p className="font-semibold text-white">{t.name}</p>
                  <p className="text-xs text-slate-400">{t.city}</p>
                </div>
                <ul className="flex flex-wrap gap-2">
                  {t.shows.map((s) => (
                    <li key={s.id}>
                      <Link to={`/showtimes/${s.id}`} data-testid="showtime-link"
                            className="inline-flex flex-col items-center rounded-lg px-4 py-2 text-sm ring-1
                              ring-emerald-500/40 transition hover:bg-emerald-500/10">
                        <span className="font-semibold text-emerald-300">{formatTime(s.starts_at)}</span>
                        <span className="text-[11px] text-slate-400">{s.screen.name}</span>
                        <span className="sr-only">, {t.name}</span>
                      </Link>
                    </li>
                  ))}
                </ul>
              </Card>
            ))}
          </div>
        </section>
      ))}
    </div>
  );
}
