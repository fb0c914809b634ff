import { useMutation } from "@tanstack/react-query";
import { z } from "zod";

import { request } from "@/lib/api-client";

export const otpSentSchema = z.object({
  status: z.string(),
  expires_in: z.number().int().optional(),
  resend_after: z.number().int().optional(),
});

export function sendOtp(email: string) {
  return request("/user/send-otp", otpSentSchema, { method: "POST", body: { email }, auth: false });
}

export function useSendOtp() {
  return useMutation({ mutationFn: sendOtp });
}
