import { z } from "zod";

import { pageSchema, showtimeSchema } from "@/types/api";

export const movieSchema = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string().nullish(),
  genre: z.string(),
  language: z.string(),
  duration_min: z.number().int(),
  certificate: z.string().nullish(),
  release_date: z.string().nullish(),
  poster_url: z.string().nullish(),
});
export type Movie = z.infer<typeof movieSchema>;
export const moviePageSchema = pageSchema(movieSchema);

export { showtimeSchema, type Showtime } from "@/types/api";
export const showtimePageSchema = pageSchema(showtimeSchema);

export const theatrePageSchema = pageSchema(z.object({ id: z.number().int(), name: z.string(), city: z.string() }));
