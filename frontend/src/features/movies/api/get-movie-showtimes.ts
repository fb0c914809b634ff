import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { showtimePageSchema } from "./schemas";

export type ShowtimeFilters = { city?: string; date?: string };

export function getMovieShowtimes(movieId: number, filters: ShowtimeFilters, signal?: AbortSignal) {
  return request(`/movies/${movieId}/showtimes`, showtimePageSchema,
                 { query: { ...filters, per_page: 100 }, auth: false, signal });
}

export function useMovieShowtimes(movieId: number, filters: ShowtimeFilters) {
  return useQuery({
    queryKey: ["movie-showtimes", movieId, filters],
    queryFn: ({ signal }) => getMovieShowtimes(movieId, filters, signal),
  });
}
