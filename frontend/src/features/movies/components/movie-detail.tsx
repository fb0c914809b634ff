import { Alert, Badge, PageSpinner } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";

import { useMovie } from "../api/get-movie";

import { Poster } from "./poster";

export function MovieDetail({ movieId }: { movieId: number }) {
  const movie = useMovie(movieId);
  if (movie.isPending) return <PageSpinner label="Loading movie…" />;
  if (movie.isError) return <Alert title="Could not load this movie">{errorMessage(movie.error)}</Alert>;
  const m = movie.data;
  return (
    <div className="flex flex-col gap-6 sm:flex-row">
      <Poster movie={m} className="aspect-[2/3] w-40 shrink-0 rounded-xl ring-1 ring-ink-700 sm:w-48" />
      <div className="space-y-3">
        <h1 className="text-3xl font-bold tracking-tight text-white">{m.title}</h1>
        <div className="flex flex-wrap gap-2">
          <Badge>{m.genre}</Badge>
          <Badge>{m.language}</Badge>
          <Badge>{m.duration_min} min</Badge>
          {m.certificate && <Badge>{m.certificate}</Badge>}
          {m.release_date && <Badge>Released {new Date(m.release_date).toLocaleDateString("en-IN")}</Badge>}
        </div>
        {m.description && <p className="max-w-2xl text-slate-300">{m.description}</p>}
      </div>
    </div>
  );
}
