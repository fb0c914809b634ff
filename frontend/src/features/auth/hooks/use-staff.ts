import { useUser } from "../api/get-me";

export type StaffRole = "admin" | "superadmin";

/** Whether a role (from GET /api/user/me) may use the staff area. */
export function isStaffRole(role: string | undefined | null): role is StaffRole {
  return role === "admin" || role === "superadmin";
}

/** The signed-in user's staff standing; `pending` while /user/me is still loading. */
export function useStaff() {
  const user = useUser();
  const role = user.data?.role;
  return {
    user,
    pending: user.isPending && user.fetchStatus !== "idle",
    isStaff: isStaffRole(role),
    isSuperadmin: role === "superadmin",
  };
}
