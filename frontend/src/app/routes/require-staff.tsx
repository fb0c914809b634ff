import type { ReactNode } from "react";
import { Link } from "react-router";

import { Alert, Card, PageSpinner } from "@/components/ui";
import { useStaff } from "@/features/auth/hooks/use-staff";
import { errorMessage } from "@/lib/api-client";

import { RequireAuth } from "./require-auth";

export function StaffOnly() {
  return (
    <Card className="mx-auto max-w-lg p-8 text-center" data-testid="staff-only">
      <h1 className="text-2xl font-bold text-white">Staff only</h1>
      <p className="mt-2 text-slate-400">
        This area is for theatre staff. Your account does not have staff access; ask a CineVerse administrator if
        you think it should.
      </p>
      <Link to="/" className="mt-4 inline-block text-gold-400 hover:underline">Back to movies</Link>
    </Card>
  );
}

function StaffGate({ children }: { children: ReactNode }) {
  const { user, pending, isStaff } = useStaff();
  if (pending) return <PageSpinner label="Checking your access…" />;
  if (user.isError) return <Alert title="Could not check your access">{errorMessage(user.error)}</Alert>;
  return isStaff ? <>{children}</> : <StaffOnly />;
}

/** Signed-in staff (admin or superadmin) only: others are sent to sign in, or told it is staff only. */
export function RequireStaff({ children }: { children: ReactNode }) {
  return (
    <RequireAuth>
      <StaffGate>{children}</StaffGate>
    </RequireAuth>
  );
}
