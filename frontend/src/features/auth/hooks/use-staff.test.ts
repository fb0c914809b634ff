import { describe, expect, it } from "vitest";

import { isStaffRole } from "./use-staff";

describe("isStaffRole", () => {
  it("lets admins and superadmins in, nobody else", () => {
    expect(isStaffRole("admin")).toBe(true);
    expect(isStaffRole("superadmin")).toBe(true);
    expect(isStaffRole("user")).toBe(false);
    expect(isStaffRole(undefined)).toBe(false);
    expect(isStaffRole("Admin")).toBe(false);
  });
});
