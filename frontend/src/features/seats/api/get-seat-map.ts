import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { seatMapSchema } from "./schemas";

/** Every seat with its section, price and status; `mine` marks the caller's holds when signed in. */
export function getSeatMap(showtimeId: number, signal?: AbortSignal) {
  return request(`/showtimes/${showtimeId}/seats`, seatMapSchema, { signal });
}

export function useSeatMap(showtimeId: number) {
  return useQuery({
    queryKey: ["seat-map", showtimeId],
    queryFn: ({ signal }) => getSeatMap(showtimeId, signal),
    staleTime: Infinity, // kept current by the WebSocket
  });
}
