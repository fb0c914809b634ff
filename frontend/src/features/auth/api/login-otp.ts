import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";
import { setTokens } from "@/lib/auth-tokens";
import { tokenPairSchema } from "@/types/api";

export type LoginOtpInput = { email: string; otp: string };

/** Sign in with the code /send-otp mailed, instead of the password. */
export async function loginOtp(input: LoginOtpInput) {
  const pair = await request("/user/login-otp", tokenPairSchema,
                             { method: "POST", body: input, auth: false, retryOn401: false });
  setTokens({ access: pair.access_token, refresh: pair.refresh_token });
  return pair;
}

export function useLoginOtp() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: loginOtp, onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }) });
}
