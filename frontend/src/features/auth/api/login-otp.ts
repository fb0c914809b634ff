import { tokenPairSchema } from "@/types/api";

import { startSession, useSessionMutation } from "./sign-in";

export type LoginOtpInput = { email: string; otp: string };

/** Sign in with the code /send-otp mailed, instead of the password. */
export function loginOtp(input: LoginOtpInput) {
  return startSession("/user/login-otp", tokenPairSchema, input);
}

export function useLoginOtp() {
  return useSessionMutation(loginOtp);
}
