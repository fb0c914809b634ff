import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";

import { request } from "@/lib/api-client";
import { setTokens } from "@/lib/auth-tokens";
import { tokenPairSchema } from "@/types/api";

/** POST body to an anonymous route that answers a token pair (login, login by code, register) and keep
 *  the tokens: the one way a session starts. */
export async function startSession<S extends typeof tokenPairSchema>(path: string, schema: S, body: unknown) {
  const result: z.infer<S> = await request(path, schema, { method: "POST", body, auth: false, retryOn401: false });
  setTokens({ access: result.access_token, refresh: result.refresh_token });
  return result;
}

/** A mutation that starts a session, then refetches who is signed in. */
export function useSessionMutation<I, R>(mutationFn: (input: I) => Promise<R>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn, onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }) });
}
