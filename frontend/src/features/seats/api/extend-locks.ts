import { useMutation } from "@tanstack/react-query";

import { request } from "@/lib/api-client";
import { queuePassHeaders } from "@/lib/queue-pass";

import type { SeatIdsInput } from "./lock-seats";
import { holdsSchema } from "./schemas";

/** Renew the caller's holds to a full TTL (bounded by the server's renewal limit). */
export function extendLocks({ showtimeId, seatIds }: SeatIdsInput) {
  return request(`/showtimes/${showtimeId}/redis-extend-locks`, holdsSchema,
                 { method: "POST", body: { seat_ids: seatIds }, headers: queuePassHeaders(showtimeId) });
}

export function useExtendLocks() {
  return useMutation({ mutationFn: extendLocks });
}
