import { useState, type FormEvent } from "react";

import { Alert, Button, Input } from "@/components/ui";
import { ApiError, errorMessage } from "@/lib/api-client";

import { useLogin } from "../api/login";
import { useLoginOtp } from "../api/login-otp";
import { useSendOtp } from "../api/send-otp";

type Mode = "password" | "code";

/** Sign in with the password, or with a 6-digit code mailed to the address. */
export function SignInForm({ onDone }: { onDone: () => void }) {
  const [mode, setMode] = useState<Mode>("password");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [codeSent, setCodeSent] = useState(false);
  const loginMutation = useLogin();
  const sendOtp = useSendOtp();
  const loginOtp = useLoginOtp();

  const submitPassword = (e: FormEvent) => {
    e.preventDefault();
    loginMutation.mutate({ email: email.trim(), password }, { onSuccess: onDone });
  };
  const requestCode = (e?: FormEvent) => {
    e?.preventDefault();
    sendOtp.mutate(email.trim(), { onSuccess: () => setCodeSent(true) });
  };
  const submitCode = (e: FormEvent) => {
    e.preventDefault();
    loginOtp.mutate({ email: email.trim(), otp: code.trim() }, { onSuccess: onDone });
  };
  const switchTo = (next: Mode) => {
    setMode(next);
    setCodeSent(false);
    setCode("");
  };

  const attemptsLeft = loginOtp.error instanceof ApiError ? loginOtp.error.details.attempts_left : undefined;
  const emailField = (
    <Input label="Email" type="email" autoComplete="email" required value={email}
           onChange={(e) => setEmail(e.target.value)} />
  );

  return (
    <div className="space-y-4">
      {mode === "password" && (
        <form onSubmit={submitPassword} className="space-y-4" aria-label="Sign in with email and password">
          {emailField}
          <Input label="Password" type="password" autoComplete="current-password" required value={password}
                 onChange={(e) => setPassword(e.target.value)} />
          {loginMutation.isError && <Alert>{errorMessage(loginMutation.error)}</Alert>}
          <Button type="submit" className="w-full" loading={loginMutation.isPending}>Sign in</Button>
        </form>
      )}

      {mode === "code" && !codeSent && (
        <form onSubmit={requestCode} className="space-y-4" aria-label="Get a sign-in code">
          {emailField}
          {sendOtp.isError && <Alert>{errorMessage(sendOtp.error)}</Alert>}
          <Button type="submit" className="w-full" loading={sendOtp.isPending}>Email me a code</Button>
        </form>
      )}

      {mode === "code" && codeSent && (
        <form onSubmit={submitCode} className="space-y-4" aria-label="Sign in with your code">
          <Alert tone="info">We sent a code to <strong>{email}</strong>. It is valid for a few minutes.</Alert>
          <Input label="6-digit code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}"
                 maxLength={6} required value={code} onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))} />
          {loginOtp.isError && (
            <Alert>
              {errorMessage(loginOtp.error)}
              {typeof attemptsLeft === "number" && ` (${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left)`}
            </Alert>
          )}
          {sendOtp.isError && <Alert>{errorMessage(sendOtp.error)}</Alert>}
          <Button type="submit" className="w-full" loading={loginOtp.isPending}>Sign in</Button>
          <button type="button" className="text-sm text-gold-400 underline-offset-2 hover:underline disabled:opacity-50"
                  disabled={sendOtp.isPending} onClick={() => requestCode()}>Send a new code</button>
        </form>
      )}

      <button type="button" className="text-sm text-slate-400 underline-offset-2 hover:underline"
              onClick={() => switchTo(mode === "password" ? "code" : "password")}>
        {mode === "password" ? "Email me a sign-in code instead" : "Use my password instead"}
      </button>
    </div>
  );
}
