import { Button, Card } from "@/components/ui";
import { formatMoney } from "@/lib/format";

import type { Seat } from "../api/schemas";

import { HoldTimer } from "./hold-timer";

type Props = {
  held: Record<string, string | null>;
  seats: Record<string, Seat>;
  currency: string;
  busy: "extend" | "release" | null;
  onRelease: () => void;
  onExtend: () => void;
  onCheckout: () => void;
};

const bySeat = (a: string, b: string) => a[0]!.localeCompare(b[0]!) || Number(a.slice(1)) - Number(b.slice(1));

/** The caller's held seats, the countdown, and what to do next. */
export function HoldPanel({ held, seats, currency, busy, onRelease, onExtend, onCheckout }: Props) {
  const ids = Object.keys(held).sort(bySeat);
  const total = ids.reduce((sum, id) => sum + (seats[id]?.price ?? 0), 0);
  const known = Object.values(held).filter((v): v is string => Boolean(v));
  const soonest = known.length ? known.reduce((a, b) => (a < b ? a : b)) : null;
  const expired = soonest !== null && new Date(soonest).getTime() <= Date.now();

  return (
    <Card className="sticky bottom-3 z-10 flex flex-col gap-3 p-4 shadow-2xl shadow-black/60 sm:flex-row
      sm:items-center" aria-label="Your selection" role="region" data-testid="hold-panel">
      <div className="flex-1 space-y-1">
        <p className="text-sm text-slate-300">
          <span className="font-semibold text-white">{ids.length} seat{ids.length === 1 ? "" : "s"}</span>
          {" · "}<span data-testid="held-seats">{ids.join(", ")}</span>
          {" · "}<span className="font-semibold text-gold-300">{formatMoney(total, currency)}</span>
        </p>
        <p className="text-sm" aria-live="polite"><HoldTimer expiresAt={soonest} /></p>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button variant="ghost" size="sm" onClick={onRelease} loading={busy === "release"}>Release</Button>
        <Button variant="secondary" size="sm" onClick={onExtend} loading={busy === "extend"}>Extend hold</Button>
        <Button onClick={onCheckout} disabled={expired || busy !== null}>Proceed to checkout</Button>
      </div>
    </Card>
  );
}
