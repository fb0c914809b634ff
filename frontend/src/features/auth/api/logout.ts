import { useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";

import { request } from "@/lib/api-client";
import { getTokens, setTokens } from "@/lib/auth-tokens";

/** Revoke both tokens on the server; the local copies go whatever it answers. */
export async function logout(): Promise<void> {
  const tokens = getTokens();
  try {
    if (tokens) {
      await request("/user/logout", z.unknown(), { method: "POST", body: { refresh_token: tokens.refresh },
                                                   retryOn401: false });
    }
  } finally {
    setTokens(null);
  }
}

export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: logout,
    onSettled: () => {
      qc.removeQueries({ queryKey: ["me"] });
      qc.removeQueries({ queryKey: ["my-bookings"] });
      qc.removeQueries({ queryKey: ["admin"] }); // staff data must not outlive the staff session
    },
  });
}
