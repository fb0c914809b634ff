import { useState, type FormEvent } from "react";

import { Alert, Button, Input } from "@/components/ui";
import { ApiError, errorMessage } from "@/lib/api-client";

import { useRegister } from "../api/register";
import { useSendOtp } from "../api/send-otp";
import { useVerifyOtp } from "../api/verify-otp";

type Step = "email" | "code" | "details";

/** Sign up: email → a 6-digit code by email → name and password. */
export function SignUpForm({ onDone }: { onDone: () => void }) {
  const [step, setStep] = useState<Step>("email");
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const [registrationToken, setRegistrationToken] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const sendOtp = useSendOtp();
  const verifyOtp = useVerifyOtp();
  const registerMutation = useRegister();

  const requestCode = (e?: FormEvent) => {
    e?.preventDefault();
    sendOtp.mutate(email.trim(), { onSuccess: () => setStep("code") });
  };
  const checkCode = (e: FormEvent) => {
    e.preventDefault();
    verifyOtp.mutate({ email: email.trim(), otp: code.trim() }, {
      onSuccess: (r) => {
        setRegistrationToken(r.registration_token);
        setStep("details");
      },
    });
  };
  const createAccount = (e: FormEvent) => {
    e.preventDefault();
    registerMutation.mutate({ registration_token: registrationToken, name: name.trim(), password }, {
      onSuccess: onDone,
      onError: (err) => {
        if (err instanceof ApiError && err.code === "registration_token_invalid") setStep("code");
      },
    });
  };

  const attemptsLeft = verifyOtp.error instanceof ApiError ? verifyOtp.error.details.attempts_left : undefined;

  return (
    <div className="space-y-4">
      <ol className="flex gap-2 text-xs text-slate-400" aria-label="Sign-up steps">
        {(["email", "code", "details"] as const).map((s, i) => (
          <li key={s} aria-current={step === s ? "step" : undefined}
              className={step === s ? "font-semibold text-gold-400" : ""}>
            {i + 1}. {s === "email" ? "Email" : s === "code" ? "Code" : "Your details"}
            {i < 2 && <span aria-hidden="true"> ›</span>}
          </li>
        ))}
      </ol>

      {step === "email" && (
        <form onSubmit={requestCode} className="space-y-4" aria-label="Get a sign-up code">
          <Input label="Email" type="email" autoComplete="email" required value={email}
                 onChange={(e) => setEmail(e.target.value)} hint="We will email you a 6-digit code." />
          {sendOtp.isError && <Alert>{errorMessage(sendOtp.error)}</Alert>}
          <Button type="submit" className="w-full" loading={sendOtp.isPending}>Send code</Button>
        </form>
      )}

      {step === "code" && (
        <form onSubmit={checkCode} className="space-y-4" aria-label="Enter your code">
          <Alert tone="info">We sent a code to <strong>{email}</strong>. It is valid for a few minutes.</Alert>
          <Input label="6-digit code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}"
                 maxLength={6} required value={code} onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))} />
          {verifyOtp.isError && (
            <Alert>
              {errorMessage(verifyOtp.error)}
              {typeof attemptsLeft === "number" && ` (${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left)`}
            </Alert>
          )}
          {sendOtp.isError && <Alert>{errorMessage(sendOtp.error)}</Alert>}
          <Button type="submit" className="w-full" loading={verifyOtp.isPending}>Verify code</Button>
          <div className="flex justify-between text-sm">
            <button type="button" className="text-slate-400 underline-offset-2 hover:underline"
                    onClick={() => setStep("email")}>Change email</button>
            <button type="button" className="text-gold-400 underline-offset-2 hover:underline disabled:opacity-50"
                    disabled={sendOtp.isPending} onClick={() => requestCode()}>Send a new code</button>
          </div>
        </form>
      )}

      {step === "details" && (
        <form onSubmit={createAccount} className="space-y-4" aria-label="Create your account">
          <Input label="Name" autoComplete="name" required maxLength={120} value={name}
                 onChange={(e) => setName(e.target.value)} />
          <Input label="Password" type="password" autoComplete="new-password" required minLength={8}
                 value={password} onChange={(e) => setPassword(e.target.value)} hint="At least 8 characters." />
          {registerMutation.isError && <Alert>{errorMessage(registerMutation.error)}</Alert>}
          <Button type="submit" className="w-full" loading={registerMutation.isPending}>Create account</Button>
        </form>
      )}
    </div>
  );
}
