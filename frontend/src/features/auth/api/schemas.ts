import { z } from "zod";

import { tokenPairSchema } from "@/types/api";

export const userSchema = z.object({
  id: z.number().int(),
  email: z.string(),
  name: z.string(),
  phone: z.string().nullish(),
  role: z.string().optional(),
  is_active: z.boolean().optional(),
  created_at: z.string().optional(),
});
export type User = z.infer<typeof userSchema>;

export const registeredSchema = tokenPairSchema.extend({ user: userSchema.optional() });
