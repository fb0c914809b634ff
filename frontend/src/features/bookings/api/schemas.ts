import { z } from "zod";

import { pageSchema } from "@/types/api";

export const bookingSchema = z.object({
  id: z.number().int(),
  reference: z.string(),
  showtime_id: z.number().int(),
  seat_ids: z.array(z.string()),
  amount: z.number().int(),
  currency: z.string(),
  state: z.string().optional(),
  checked_in_at: z.string().nullish(),
  created_at: z.string().optional(),
});
export type Booking = z.infer<typeof bookingSchema>;
export const bookingPageSchema = pageSchema(bookingSchema);

export const cancelResultSchema = z.object({
  booking: bookingSchema,
  refund_amount: z.number().int().optional(),
  refund_state: z.string().nullish(),
});

export const showtimeSummarySchema = z.object({
  id: z.number().int(),
  starts_at: z.string(),
  theatre: z.object({ name: z.string(), city: z.string() }),
  screen: z.object({ name: z.string() }),
  movie: z.object({ id: z.number().int(), title: z.string() }),
});
