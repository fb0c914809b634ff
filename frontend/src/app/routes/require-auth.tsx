import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";

import { useSignedIn } from "@/features/auth/hooks/use-signed-in";

export function RequireAuth({ children }: { children: ReactNode }) {
  const signedIn = useSignedIn();
  const location = useLocation();
  if (!signedIn) {
    return <Navigate replace to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} />;
  }
  return <>{children}</>;
}
