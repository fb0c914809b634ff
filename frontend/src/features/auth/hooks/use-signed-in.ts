import { useSyncExternalStore } from "react";

import { getTokens, subscribeTokens } from "@/lib/auth-tokens";

/** Whether tokens are stored (re-renders on sign in, sign out and a failed refresh). */
export function useSignedIn(): boolean {
  return useSyncExternalStore(subscribeTokens, () => getTokens() !== null, () => false);
}
