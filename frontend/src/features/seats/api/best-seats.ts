import { request } from "@/lib/api-client";
import { queuePassHeaders } from "@/lib/queue-pass";

import { holdsSchema } from "./schemas";

export type BestSeatsInput = { showtimeId: number; count: number; accessible?: boolean };

/** Hold the best block of `count` seats together (409 no_block_available offers details.split). */
export function bestSeats({ showtimeId, count, accessible = false }: BestSeatsInput) {
  return request(`/showtimes/${showtimeId}/best-seats`, holdsSchema,
                 { method: "POST", body: { count, accessible }, headers: queuePassHeaders(showtimeId) });
}
