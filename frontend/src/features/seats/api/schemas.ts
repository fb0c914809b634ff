import { z } from "zod";

import { showtimeWithMovieSchema } from "@/types/api";

export const seatStatusSchema = z.enum(["available", "locked", "booked", "blocked"]);
export type SeatStatus = z.infer<typeof seatStatusSchema>;

export const seatSchema = z.object({
  id: z.string(),
  row: z.string(),
  number: z.number().int(),
  section: z.string(),
  price: z.number().int(),
  status: seatStatusSchema,
  accessible: z.boolean().default(false),
  companion: z.boolean().default(false),
  mine: z.boolean().default(false),
});
export type Seat = z.infer<typeof seatSchema>;

export const sectionSchema = z.object({
  name: z.string(),
  label: z.string(),
  price: z.number().int(),
  rows: z.array(z.string()),
});
export type Section = z.infer<typeof sectionSchema>;

export const seatMapSchema = z.object({
  showtime_id: z.number().int(),
  currency: z.string().default("INR"),
  rows: z.array(z.string()),
  seats_per_row: z.number().int(),
  sections: z.array(sectionSchema),
  seats: z.array(seatSchema),
  counts: z.record(z.string(), z.number()).optional(),
  holds_available: z.boolean().optional(),
  version: z.number().int().nullish(),
});
export type SeatMap = z.infer<typeof seatMapSchema>;

export const heldSeatSchema = z.object({ seat_id: z.string(), expires_at: z.string() });
export const holdsSchema = z.object({
  showtime_id: z.number().int(),
  seat_ids: z.array(z.string()),
  expires_at: z.string().optional(),
  ttl_ms: z.number().int().optional(),
  holds: z.array(heldSeatSchema).default([]),
});
export type Holds = z.infer<typeof holdsSchema>;

export const releasedSchema = z.object({
  showtime_id: z.number().int(),
  seat_ids: z.array(z.string()),
  released: z.array(z.string()),
});

export const onSaleSchema = z.object({
  waiting_room: z.boolean(),
  sales_open_at: z.string().nullable(),
});
export type OnSale = z.infer<typeof onSaleSchema>;

export const showtimeSchema = showtimeWithMovieSchema.extend({
  on_sale: onSaleSchema.default({ waiting_room: false, sales_open_at: null }),
});
export type Showtime = z.infer<typeof showtimeSchema>;
