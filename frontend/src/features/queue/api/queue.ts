import { z } from "zod";

import { request } from "@/lib/api-client";

/** A buyer's place in a showtime's waiting room (app/schemas/waiting_room.py QueueStateSchema). */
export const queueStateSchema = z.object({
  state: z.enum(["admitted", "waiting", "pre_queue"]),
  pass: z.string().optional(),
  pass_expires_at: z.string().optional(),
  position: z.number().int().optional(),
  estimated_wait_s: z.number().int().optional(),
  ticket: z.string().optional(),
  opens_at: z.string().optional(),
});
export type QueueState = z.infer<typeof queueStateSchema>;

/** What the queue socket pushes: a new position (or the pre-queue), or the admission with its pass. */
export const queueMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("queue_position"), state: z.enum(["waiting", "pre_queue"]),
             position: z.number().int().optional(), estimated_wait_s: z.number().int().optional(),
             opens_at: z.string().optional() }),
  z.object({ type: z.literal("admitted"), state: z.literal("admitted").optional(), pass: z.string(),
             pass_expires_at: z.string() }),
  z.object({ type: z.literal("error"), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type QueueMessage = z.infer<typeof queueMessageSchema>;

/** Join the queue, or find one's place again (one entry per account): 200 admitted, 202 otherwise. */
export function joinQueue(showtimeId: number) {
  return request(`/showtimes/${showtimeId}/queue`, queueStateSchema, { method: "POST" });
}

export function queueState(showtimeId: number) {
  return request(`/showtimes/${showtimeId}/queue`, queueStateSchema);
}

export function leaveQueue(showtimeId: number) {
  return request(`/showtimes/${showtimeId}/queue`, z.undefined(), { method: "DELETE" });
}
