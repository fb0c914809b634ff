import { useEffect, useState } from "react";

import { Alert, Button, Card, Spinner } from "@/components/ui";
import { formatDateTime } from "@/lib/format";

import type { WaitingRoomView } from "../hooks/use-waiting-room";

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Days, hours, minutes and seconds until `iso`, ticking each second. */
function Countdown({ iso, onZero }: { iso: string; onZero: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  const target = Date.parse(iso);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.round((target - now) / 1000));
  useEffect(() => {
    if (left === 0) onZero();
  }, [left, onZero]);
  const parts = [Math.floor(left / 86400), Math.floor((left % 86400) / 3600), Math.floor((left % 3600) / 60), left % 60];
  const labels = ["d", "h", "m", "s"];
  return (
    <p className="font-mono text-3xl font-semibold tabular-nums text-white" data-testid="queue-countdown"
       aria-label={`${left} seconds until the sale opens`}>
      {parts.map((value, i) => (i === 0 && value === 0 ? null : `${String(value).padStart(2, "0")}${labels[i]} `))}
    </p>
  );
}

/** The waiting page: the place in the queue, the estimated wait, or the countdown before the opening. */
export function WaitingRoom({ view, onRetry }: { view: WaitingRoomView; onRetry: () => void }) {
  return (
    <Card className="mx-auto max-w-lg space-y-4 p-6 text-center" data-testid="waiting-room">
      <h2 className="text-lg font-semibold text-white">You are in the queue</h2>
      {view.phase === "joining" && <Spinner label="Joining the queue…" />}
      {view.phase === "pre_queue" && (
        <div className="space-y-2" data-testid="queue-pre">
          <p className="text-sm text-slate-300">
            Sales open at {formatDateTime(view.opensAt)}. Everyone who is here before then gets a place
            drawn at random at the opening, so there is no need to refresh.
          </p>
          <Countdown iso={view.opensAt} onZero={onRetry} />
        </div>
      )}
      {view.phase === "waiting" && (
        <div className="space-y-1" role="status" aria-live="polite">
          <p className="text-sm text-slate-400">Your place</p>
          <p className="text-5xl font-bold tabular-nums text-gold-300" data-testid="queue-position">{view.position}</p>
          <p className="text-sm text-slate-300" data-testid="queue-wait">
            Estimated wait: {duration(view.estimatedWaitS)}
          </p>
          <p className="text-xs text-slate-400">
            Keep this page open: the seat map opens by itself when it is your turn. Leaving or reloading keeps
            your place.
          </p>
        </div>
      )}
      {view.phase === "error" && (
        <Alert title="Could not join the queue">
          <p>{view.message}</p>
          <Button variant="secondary" size="sm" className="mt-2" onClick={onRetry}>Try again</Button>
        </Alert>
      )}
    </Card>
  );
}
