import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { adminUserSchema } from "./schemas";

export type SetActiveInput = { userId: number; active: boolean };

/** Suspend (`active: false`) or restore an account; a suspended user's tokens stop working at once. */
export function setUserActive({ userId, active }: SetActiveInput) {
  return request(`/admin/users/${userId}/active`, adminUserSchema, { method: "PUT", body: { active } });
}

export function useSetUserActive() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: setUserActive,
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "users"] }),
  });
}
