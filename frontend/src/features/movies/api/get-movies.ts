import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { moviePageSchema } from "./schemas";

export type MovieFilters = {
  q?: string;
  genre?: string;
  language?: string;
  city?: string;
  date?: string;
  page?: number;
  per_page?: number;
};

export function getMovies(filters: MovieFilters, signal?: AbortSignal) {
  return request("/movies", moviePageSchema, { query: filters, auth: false, signal });
}

export function useMovies(filters: MovieFilters) {
  return useQuery({
    queryKey: ["movies", filters],
    queryFn: ({ signal }) => getMovies(filters, signal),
    placeholderData: keepPreviousData,
  });
}
