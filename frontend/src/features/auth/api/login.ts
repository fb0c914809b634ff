import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";
import { setTokens } from "@/lib/auth-tokens";
import { tokenPairSchema } from "@/types/api";

export type LoginInput = { email: string; password: string };

export async function login(input: LoginInput) {
  const pair = await request("/user/login", tokenPairSchema,
                             { method: "POST", body: input, auth: false, retryOn401: false });
  setTokens({ access: pair.access_token, refresh: pair.refresh_token });
  return pair;
}

export function useLogin() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: login, onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }) });
}
