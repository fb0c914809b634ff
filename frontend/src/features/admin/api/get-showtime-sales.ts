import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { showtimeSalesSchema } from "./schemas";

export function getShowtimeSales(showtimeId: number, signal?: AbortSignal) {
  return request(`/admin/showtimes/${showtimeId}/sales`, showtimeSalesSchema, { signal });
}

export function useShowtimeSales(showtimeId: number) {
  return useQuery({ queryKey: ["admin", "showtime-sales", showtimeId],
                    queryFn: ({ signal }) => getShowtimeSales(showtimeId, signal), staleTime: 0 });
}
