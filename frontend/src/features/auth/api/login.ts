import { tokenPairSchema } from "@/types/api";

import { startSession, useSessionMutation } from "./sign-in";

export type LoginInput = { email: string; password: string };

export function login(input: LoginInput) {
  return startSession("/user/login", tokenPairSchema, input);
}

export function useLogin() {
  return useSessionMutation(login);
}
