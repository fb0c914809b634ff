import { Link } from "react-router";

import { Alert, Badge, PageSpinner, Pagination } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";

import { useMovies, type MovieFilters } from "../api/get-movies";

import { Poster } from "./poster";

export function MoviesList({ filters, onPage }: { filters: MovieFilters; onPage: (page: number) => void }) {
  const perPage = 12;
  const movies = useMovies({ ...filters, per_page: perPage });

  if (movies.isPending) return <PageSpinner label="Loading movies…" />;
  if (movies.isError) return <Alert title="Could not load movies">{errorMessage(movies.error)}</Alert>;

  const { items, total, page } = movies.data;
  return (
    <section aria-labelledby="movies-heading" aria-busy={movies.isFetching}>
      <h2 id="movies-heading" className="sr-only">Movies</h2>
      <p className="mb-4 text-sm text-slate-400" aria-live="polite">
        {total === 0 ? "No movies match these filters." : `${total} movie${total === 1 ? "" : "s"}`}
      </p>
      <ul className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-4 xl:grid-cols-6">
        {items.map((movie) => (
          <li key={movie.id}>
            <Link to={`/movies/${movie.id}`} data-testid="movie-card"
                  className="group block overflow-hidden rounded-xl bg-ink-900 ring-1 ring-ink-700/70 transition
                    hover:-translate-y-0.5 hover:ring-gold-400/60">
              <Poster movie={movie} className="aspect-[2/3] w-full transition group-hover:brightness-110" />
              <div className="space-y-1.5 p-3">
                <h3 className="line-clamp-1 font-semibold text-white">{movie.title}</h3>
                <div className="flex flex-wrap gap-1.5">
                  <Badge>{movie.genre}</Badge>
                  <Badge>{movie.language}</Badge>
                </div>
                <p className="text-xs text-slate-400">
                  {movie.duration_min} min{movie.certificate ? ` · ${movie.certificate}` : ""}
                </p>
              </div>
            </Link>
          </li>
        ))}
      </ul>
      <Pagination page={page} perPage={perPage} total={total} onPage={onPage} label="Movie pages" />
    </section>
  );
}
