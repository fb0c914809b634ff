import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { movieSchema } from "./schemas";

export function getMovie(movieId: number, signal?: AbortSignal) {
  return request(`/movies/${movieId}`, movieSchema, { auth: false, signal });
}

export function useMovie(movieId: number) {
  return useQuery({ queryKey: ["movie", movieId], queryFn: ({ signal }) => getMovie(movieId, signal) });
}
