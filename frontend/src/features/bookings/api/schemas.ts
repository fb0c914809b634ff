import { z } from "zod";

import { bookingSchema, pageSchema } from "@/types/api";

export { bookingSchema, type Booking } from "@/types/api";
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
