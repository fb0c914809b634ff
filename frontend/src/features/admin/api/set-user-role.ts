import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { adminUserSchema } from "./schemas";

export type AssignableRole = "user" | "admin";
export type SetRoleInput = { userId: number; role: AssignableRole };

/** Superadmins only: make a user an admin, or an admin a user. */
export function setUserRole({ userId, role }: SetRoleInput) {
  return request(`/admin/users/${userId}/role`, adminUserSchema, { method: "PUT", body: { role } });
}

export function useSetUserRole() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: setUserRole,
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "users"] }),
  });
}
