import { useState } from "react";

import { Alert, Button, Card, PageSpinner } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";

import { useLiveSeats } from "../hooks/use-live-seats";

import { HoldPanel } from "./hold-panel";
import { SeatGrid } from "./seat-grid";
import { SeatLegend } from "./seat-legend";

const statusText = {
  connecting: "Connecting…",
  live: "Live",
  resyncing: "Updating…",
  reconnecting: "Reconnecting…",
  closed: "Offline",
} as const;

type Props = {
  showtimeId: number;
  onNeedSignIn: () => void;
  onCheckout: (seatIds: string[]) => void;
};

export function SeatPicker({ showtimeId, onNeedSignIn, onCheckout }: Props) {
  const live = useLiveSeats(showtimeId);

  if (live.isLoading) return <PageSpinner label="Loading seats…" />;
  if (live.layoutError || !live.layout) {
    return <Alert title="Could not load the seat map">{errorMessage(live.layoutError)}</Alert>;
  }
  const seats = live.seats ?? {};
  const available = Object.values(seats).filter((s) => s.status === "available").length;
  const heldIds = Object.keys(live.held);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <p className="text-slate-400">
          <span data-testid="available-count" className="font-semibold text-slate-200">{available}</span> of{" "}
          {Object.keys(seats).length} seats available
        </p>
        <p role="status" data-testid="live-status" data-status={live.status}
           className="flex items-center gap-2 text-xs text-slate-400">
          <span aria-hidden="true" className={`h-2 w-2 rounded-full ${live.status === "live"
            ? "bg-emerald-400 shadow-[0_0_8px] shadow-emerald-400" : "animate-pulse bg-amber-400"}`} />
          {statusText[live.status]}
        </p>
      </div>
      {live.offer && (
        <Alert title="Seats held for you from the waiting list" tone="info">
          <div className="flex items-start justify-between gap-3" data-testid="waitlist-offer">
            <span>{live.offer.seat_ids.join(", ")}: they are yours to buy until{" "}
              {new Date(live.offer.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.
            </span>
            <button type="button" onClick={live.dismissOffer} className="text-xs underline">Dismiss</button>
          </div>
        </Alert>
      )}
      <BestSeats onPick={(count) => {
        if (!live.holdBest(count)) onNeedSignIn();
      }} busy={live.pending.size > 0} />
      {live.error && (
        <Alert>
          <div className="flex items-start justify-between gap-3">
            <span>{live.error}</span>
            <button type="button" onClick={live.clearError} className="text-xs underline">Dismiss</button>
          </div>
          {live.suggestions.length > 0 && (
            <div className="mt-2 flex flex-wrap gap-2" data-testid="seat-suggestions">
              {live.suggestions.map((ids) => (
                <Button key={ids.join(",")} size="sm" variant="secondary"
                        onClick={() => live.holdSuggestion(ids)}>Hold {ids.join(", ")} instead</Button>
              ))}
            </div>
          )}
        </Alert>
      )}
      <p className="text-xs text-slate-400 md:hidden">Swipe sideways to see every seat.</p>
      <p className="sr-only" aria-live="polite" data-testid="seat-announcer">{live.announcement}</p>
      <Card className="p-4 sm:p-6">
        <SeatGrid layout={live.layout} seats={seats} held={live.held} pending={live.pending}
                  onSelect={(id) => {
                    if (!live.toggle(id)) onNeedSignIn();
                  }} />
        <div className="mt-6 border-t border-ink-700/70 pt-4"><SeatLegend /></div>
      </Card>
      {heldIds.length > 0 && (
        <HoldPanel held={live.held} seats={seats} currency={live.layout.currency} busy={live.busy}
                   onRelease={() => void live.release(heldIds)} onExtend={() => void live.extend()}
                   onCheckout={() => onCheckout(heldIds)} />
      )}
    </div>
  );
}

/** Best available: how many seats, and the server holds the best block of them together. */
function BestSeats({ onPick, busy }: { onPick: (count: number) => void; busy: boolean }) {
  const [count, setCount] = useState(2);
  return (
    <form className="flex flex-wrap items-end gap-2" aria-label="Best available seats"
          onSubmit={(event) => {
            event.preventDefault();
            onPick(count);
          }}>
      <label className="flex flex-col text-xs text-slate-300">
        Seats together
        <select value={count} onChange={(event) => setCount(Number(event.target.value))}
                data-testid="best-count"
                className="mt-1 rounded-md border border-ink-600 bg-ink-800 px-2 py-1 text-sm text-slate-100">
          {Array.from({ length: 10 }, (_, i) => i + 1).map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
      <Button type="submit" size="sm" variant="secondary" disabled={busy} data-testid="best-seats">
        Best seats
      </Button>
    </form>
  );
}
