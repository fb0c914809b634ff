import { useSearchParams } from "react-router";

import type { MovieFilters as Filters } from "@/features/movies/api/get-movies";
import { MovieFilters } from "@/features/movies/components/movie-filters";
import { MoviesList } from "@/features/movies/components/movies-list";

const KEYS = ["q", "genre", "language", "city", "date"] as const;

export function MoviesRoute() {
  const [params, setParams] = useSearchParams();
  const filters: Filters = {};
  KEYS.forEach((k) => {
    const v = params.get(k);
    if (v) filters[k] = v;
  });
  const page = Number(params.get("page")) || 1;

  const update = (next: Filters) => {
    const p = new URLSearchParams();
    KEYS.forEach((k) => next[k] && p.set(k, next[k]!));
    if (next.page && next.page > 1) p.set("page", String(next.page));
    setParams(p);
  };

  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-3xl font-bold tracking-tight text-white">Now showing</h1>
        <p className="mt-1 text-slate-400">Find a movie, pick a show, choose your seats.</p>
      </div>
      <MovieFilters value={filters} onChange={update} />
      <MoviesList filters={{ ...filters, page }} onPage={(p) => update({ ...filters, page: p })} />
    </div>
  );
}
