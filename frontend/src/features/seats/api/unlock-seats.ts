import { useMutation } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import type { SeatIdsInput } from "./lock-seats";
import { releasedSchema } from "./schemas";

export function unlockSeats({ showtimeId, seatIds }: SeatIdsInput) {
  return request(`/showtimes/${showtimeId}/redis-unlock-seats`, releasedSchema,
                 { method: "POST", body: { seat_ids: seatIds } });
}

export function useUnlockSeats() {
  return useMutation({ mutationFn: unlockSeats });
}
