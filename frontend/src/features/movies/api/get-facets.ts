import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { moviePageSchema } from "./schemas";

export type MovieFacets = { genres: string[]; languages: string[] };

/** Genres and languages on the catalogue's first 100 movies, for the filter menus. */
export async function getMovieFacets(signal?: AbortSignal): Promise<MovieFacets> {
  const page = await request("/movies", moviePageSchema, { query: { per_page: 100 }, auth: false, signal });
  const uniq = (values: string[]) => [...new Set(values)].sort((a, b) => a.localeCompare(b));
  return { genres: uniq(page.items.map((m) => m.genre)), languages: uniq(page.items.map((m) => m.language)) };
}

export function useMovieFacets() {
  return useQuery({ queryKey: ["movie-facets"], queryFn: ({ signal }) => getMovieFacets(signal),
                    staleTime: 10 * 60_000 });
}
