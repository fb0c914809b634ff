import { registeredSchema } from "./schemas";
import { startSession, useSessionMutation } from "./sign-in";

export type RegisterInput = { registration_token: string; name: string; password: string };

export function register(input: RegisterInput) {
  return startSession("/user/register", registeredSchema, input);
}

export function useRegister() {
  return useSessionMutation(register);
}
