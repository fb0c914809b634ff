import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { useSignedIn } from "../hooks/use-signed-in";

import { userSchema } from "./schemas";

export function getMe(signal?: AbortSignal) {
  return request("/user/me", userSchema, { signal });
}

/** The signed-in user, or undefined when signed out. */
export function useUser() {
  const signedIn = useSignedIn();
  return useQuery({ queryKey: ["me"], queryFn: ({ signal }) => getMe(signal), enabled: signedIn,
                    staleTime: 5 * 60_000 });
}
