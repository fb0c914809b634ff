import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";
import { setTokens } from "@/lib/auth-tokens";

import { registeredSchema } from "./schemas";

export type RegisterInput = { registration_token: string; name: string; password: string };

export async function register(input: RegisterInput) {
  const result = await request("/user/register", registeredSchema,
                               { method: "POST", body: input, auth: false, retryOn401: false });
  setTokens({ access: result.access_token, refresh: result.refresh_token });
  return result;
}

export function useRegister() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: register, onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }) });
}
