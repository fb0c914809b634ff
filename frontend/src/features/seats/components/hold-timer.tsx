import { useEffect, useState } from "react";

import { formatCountdown } from "@/lib/format";

/** Time left on the caller's holds, ticking every second. */
export function HoldTimer({ expiresAt }: { expiresAt: string | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  if (!expiresAt) return <span className="text-slate-400">Holding…</span>;
  const left = new Date(expiresAt).getTime() - now;
  if (left <= 0) return <span role="alert" className="font-semibold text-rose-400">Your hold has expired</span>;
  return (
    <span className={left < 60_000 ? "font-semibold text-rose-300" : "text-slate-200"}>
      Held for <time data-testid="hold-countdown" className="font-mono tabular-nums">{formatCountdown(left)}</time>
    </span>
  );
}
