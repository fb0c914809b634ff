import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { showtimeSummarySchema } from "./schemas";

/** Movie, theatre and time of a booking's showtime. */
export function getShowtimeSummary(showtimeId: number, signal?: AbortSignal) {
  return request(`/showtimes/${showtimeId}`, showtimeSummarySchema, { auth: false, signal });
}

export function useShowtimeSummary(showtimeId: number) {
  return useQuery({ queryKey: ["showtime-summary", showtimeId],
                    queryFn: ({ signal }) => getShowtimeSummary(showtimeId, signal), staleTime: 10 * 60_000 });
}
