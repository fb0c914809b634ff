import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { showtimeSchema } from "./schemas";

export function getShowtime(showtimeId: number, signal?: AbortSignal) {
  return request(`/showtimes/${showtimeId}`, showtimeSchema, { auth: false, signal });
}

export function useShowtime(showtimeId: number) {
  return useQuery({ queryKey: ["showtime", showtimeId], queryFn: ({ signal }) => getShowtime(showtimeId, signal),
                    enabled: showtimeId > 0 });
}
