import { z } from "zod";

import { request } from "@/lib/api-client";

export const inspectSchema = z.object({
  showtime_id: z.number().int(),
  seats: z.array(z.object({
    seat_id: z.string(),
    held: z.boolean(),
    mine: z.boolean(),
    expires_at: z.string().nullish(),
  })),
});

/** When the caller's holds on these seats lapse (to restore the countdown after a reload). */
export function inspectHolds(showtimeId: number, seatIds: string[]) {
  return request(`/showtimes/${showtimeId}/redis-inspect-locks`, inspectSchema, { query: { seat_ids: seatIds } });
}
