import { z } from "zod";

/** `{"error": {"code", "message", "details"}}` — the one error shape of every API route. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** Lists are `{items, total, page, per_page}`. */
export function pageSchema<T extends z.ZodTypeAny>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    per_page: z.number().int(),
  });
}
export type Page<T> = { items: T[]; total: number; page: number; per_page: number };

/** Token responses of login, register and refresh. */
export const tokenPairSchema = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.string(),
  expires_in: z.number().int(),
});
export type TokenPair = z.infer<typeof tokenPairSchema>;

/** A booking as every booking route answers it (GET /payments/bookings/{id}, /user/bookings, verify). */
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

/** A showtime as the catalogue answers it (GET /showtimes/{id}; lists of a movie's showtimes may leave
 *  out `movie`, which GET /showtimes/{id} always includes: see showtimeWithMovieSchema). */
export const showtimeSchema = z.object({
  id: z.number().int(),
  movie_id: z.number().int(),
  starts_at: z.string(),
  ends_at: z.string(),
  status: z.string(),
  screen: z.object({ id: z.number().int(), name: z.string() }),
  theatre: z.object({ id: z.number().int(), name: z.string(), city: z.string() }),
  movie: z.object({ id: z.number().int(), title: z.string() }).optional(),
});
export type Showtime = z.infer<typeof showtimeSchema>;
export const showtimeWithMovieSchema = showtimeSchema.extend({
  movie: z.object({ id: z.number().int(), title: z.string() }),
});
