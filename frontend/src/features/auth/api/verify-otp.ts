import { useMutation } from "@tanstack/react-query";
import { z } from "zod";

import { request } from "@/lib/api-client";

export const registrationTokenSchema = z.object({
  registration_token: z.string(),
  token_type: z.string().optional(),
  expires_in: z.number().int().optional(),
  email: z.string().optional(),
});

export type VerifyOtpInput = { email: string; otp: string };

export function verifyOtp(input: VerifyOtpInput) {
  return request("/user/verify-otp", registrationTokenSchema, { method: "POST", body: input, auth: false });
}

export function useVerifyOtp() {
  return useMutation({ mutationFn: verifyOtp });
}
