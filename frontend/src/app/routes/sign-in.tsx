import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router";

import { Alert, Card } from "@/components/ui";
import { SignInForm } from "@/features/auth/components/sign-in-form";
import { SignUpForm } from "@/features/auth/components/sign-up-form";

/** Only same-site paths are followed after signing in. */
function safeNext(value: string | null): string {
  return value && value.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export function SignInRoute() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const next = safeNext(params.get("next"));
  const done = () => navigate(next, { replace: true });
  const tab = (m: typeof mode) =>
    `flex-1 rounded-lg py-2 text-sm font-semibold transition ${mode === m ? "bg-ink-700 text-white" : "text-slate-400 hover:text-white"}`;

  return (
    <div className="mx-auto max-w-md space-y-4">
      {params.get("reason") === "seats" && <Alert tone="info">Sign in to choose seats.</Alert>}
      <Card className="space-y-6 p-6">
        <h1 className="text-2xl font-bold text-white">{mode === "signin" ? "Welcome back" : "Create your account"}</h1>
        <div role="tablist" aria-label="Sign in or sign up" className="flex gap-1 rounded-xl bg-ink-850 p-1">
          <button type="button" role="tab" aria-selected={mode === "signin"} className={tab("signin")}
                  onClick={() => setMode("signin")}>Sign in</button>
          <button type="button" role="tab" aria-selected={mode === "signup"} className={tab("signup")}
                  onClick={() => setMode("signup")}>Sign up</button>
        </div>
        <div role="tabpanel">
          {mode === "signin" ? <SignInForm onDone={done} /> : <SignUpForm onDone={done} />}
        </div>
      </Card>
    </div>
  );
}
