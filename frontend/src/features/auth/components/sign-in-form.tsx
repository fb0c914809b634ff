import { useState, type FormEvent } from "react";

import { Alert, Button, Input } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";

import { useLogin } from "../api/login";

export function SignInForm({ onDone }: { onDone: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const loginMutation = useLogin();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    loginMutation.mutate({ email: email.trim(), password }, { onSuccess: onDone });
  };

  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Sign in with email and password">
      <Input label="Email" type="email" autoComplete="email" required value={email}
             onChange={(e) => setEmail(e.target.value)} />
      <Input label="Password" type="password" autoComplete="current-password" required value={password}
             onChange={(e) => setPassword(e.target.value)} />
      {loginMutation.isError && <Alert>{errorMessage(loginMutation.error)}</Alert>}
      <Button type="submit" className="w-full" loading={loginMutation.isPending}>Sign in</Button>
    </form>
  );
}
