import { useParams, useSearchParams } from "react-router";

import { Input, Select } from "@/components/ui";
import { useCities } from "@/features/movies/api/get-cities";
import { MovieDetail } from "@/features/movies/components/movie-detail";
import { ShowtimeGroups } from "@/features/movies/components/showtime-groups";

import { NotFoundRoute } from "./not-found";

export function MovieRoute() {
  const movieId = Number(useParams().movieId);
  const [params, setParams] = useSearchParams();
  const cities = useCities();
  if (!Number.isInteger(movieId) || movieId < 1) return <NotFoundRoute />;
  const city = params.get("city") ?? "";
  const date = params.get("date") ?? "";
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <div className="space-y-10">
      <MovieDetail movieId={movieId} />
      <section aria-labelledby="showtimes-heading" className="space-y-4">
        <div className="flex flex-wrap items-end justify-between gap-4">
          <h2 id="showtimes-heading" className="text-xl font-semibold text-white">Showtimes</h2>
          <div className="flex gap-3">
            <Select label="City" value={city} onChange={(e) => set("city", e.target.value)} className="w-40">
              <option value="">All cities</option>
              {cities.data?.map((c) => <option key={c} value={c}>{c}</option>)}
            </Select>
            <Input label="Date" type="date" value={date} onChange={(e) => set("date", e.target.value)} className="w-44" />
          </div>
        </div>
        <ShowtimeGroups movieId={movieId} filters={{ city: city || undefined, date: date || undefined }} />
      </section>
    </div>
  );
}
