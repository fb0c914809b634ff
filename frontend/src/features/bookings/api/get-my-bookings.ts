import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { bookingPageSchema } from "./schemas";

export function getMyBookings(page: number, signal?: AbortSignal) {
  return request("/user/bookings", bookingPageSchema, { query: { page, per_page: 10 }, signal });
}

export function useMyBookings(page: number) {
  return useQuery({ queryKey: ["my-bookings", page], queryFn: ({ signal }) => getMyBookings(page, signal),
                    placeholderData: keepPreviousData, staleTime: 0 });
}
