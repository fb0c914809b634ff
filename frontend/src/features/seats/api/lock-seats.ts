import { useMutation } from "@tanstack/react-query";

import { request } from "@/lib/api-client";
import { queuePassHeaders } from "@/lib/queue-pass";

import { holdsSchema } from "./schemas";

export type SeatIdsInput = { showtimeId: number; seatIds: string[] };

/** Hold seats for the caller, all or none (409 seat_taken names the seats someone else has). */
export function lockSeats({ showtimeId, seatIds }: SeatIdsInput) {
  return request(`/showtimes/${showtimeId}/redis-lock-seats`, holdsSchema,
                 { method: "POST", body: { seat_ids: seatIds }, headers: queuePassHeaders(showtimeId) });
}

export function useLockSeats() {
  return useMutation({ mutationFn: lockSeats });
}
