import { memo, useState, type KeyboardEvent } from "react";

import { formatMoney } from "@/lib/format";

import type { Seat, SeatMap } from "../api/schemas";

type Props = {
  layout: SeatMap;
  seats: Record<string, Seat>;
  held: Record<string, string | null>;
  pending: Set<string>;
  onSelect: (seatId: string) => void;
};

const AISLE_AFTER = new Set([4, 14]);

function seatClass(seat: Seat, mine: boolean, isPending: boolean): string {
  const base = "relative flex h-7 w-7 items-center justify-center rounded-t-lg rounded-b-sm text-[10px] font-semibold "
    + "transition sm:h-8 sm:w-8 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 "
    + "focus-visible:outline-white";
  if (isPending) return `${base} animate-pulse bg-gold-400/50 text-ink-950`;
  if (mine) return `${base} bg-gold-400 text-ink-950 shadow-[0_0_12px_-2px] shadow-gold-400 ring-1 ring-gold-300`;
  switch (seat.status) {
    case "available":
      return `${base} bg-emerald-500/5 text-emerald-200/90 ring-1 ring-emerald-400/60 hover:bg-emerald-400/25 `
        + "hover:ring-emerald-300 cursor-pointer";
    case "locked":
      return `${base} bg-sky-500/25 text-sky-200/70 ring-1 ring-sky-400/40 cursor-not-allowed`;
    case "booked":
      return `${base} bg-ink-700 text-slate-300 cursor-not-allowed`;
    default:
      return `${base} border border-dashed border-ink-700 bg-transparent text-transparent cursor-not-allowed`;
  }
}

/** "350 rupees" for a screen reader (₹350 reads poorly); other currencies as formatMoney writes them. */
function spokenPrice(paise: number, currency: string): string {
  if (currency !== "INR") return formatMoney(paise, currency);
  const rupees = paise / 100;
  return `${Number.isInteger(rupees) ? rupees : rupees.toFixed(2)} rupees`;
}

/** The seat's accessible name: "Row F, seat 7, Premium, 350 rupees, available" (the visible number is in it). */
export function describe(seat: Seat, sectionLabel: string, mine: boolean, currency: string): string {
  const state = mine ? "held by you" : seat.status === "locked" ? "held by someone else" : seat.status === "blocked"
    ? "not for sale" : seat.status;
  const extras = [seat.accessible && "wheelchair space", seat.companion && "companion seat"].filter(Boolean);
  return `Row ${seat.row}, seat ${seat.number}, ${sectionLabel}, ${spokenPrice(seat.price, currency)}, ${state}`
    + (extras.length ? `, ${extras.join(", ")}` : "");
}

const MOVES: Record<string, [number, number]> = {
  ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0],
};

/** The seat an arrow key moves to from `from`: the next seat that exists in that direction (rows skip
 *  gaps; up and down keep the number, or take the nearest seat of that row). */
function step(from: string, key: string, rows: string[], perRow: number, seats: Record<string, Seat>): string | null {
  const row = rows.indexOf(from[0]!);
  const number = Number(from.slice(1));
  if (key === "Home" || key === "End") {
    const order = Array.from({ length: perRow }, (_, i) => (key === "Home" ? i + 1 : perRow - i));
    const found = order.find((n) => `${rows[row]}${n}` in seats);
    return found ? `${rows[row]}${found}` : null;
  }
  const move = MOVES[key];
  if (!move) return null;
  const [dr, dn] = move;
  if (dn !== 0) {
    for (let n = number + dn; n >= 1 && n <= perRow; n += dn) if (`${rows[row]}${n}` in seats) return `${rows[row]}${n}`;
    return null;
  }
  for (let r = row + dr; r >= 0 && r < rows.length; r += dr) {
    for (let d = 0; d < perRow; d++) {
      for (const n of [number - d, number + d]) if (`${rows[r]}${n}` in seats) return `${rows[r]}${n}`;
    }
  }
  return null;
}

/** The auditorium: screen on top, one row of buttons per seat row, grouped by section. */
export const SeatGrid = memo(function SeatGrid({ layout, seats, held, pending, onSelect }: Props) {
  const numbers = Array.from({ length: layout.seats_per_row }, (_, i) => i + 1);
  const rows = layout.sections.flatMap((section) => section.rows);
  // one Tab stop for the whole map (roving tabindex): the seat last moved to, else the first seat
  const [focused, setFocused] = useState<string | null>(null);
  const current = focused && focused in seats ? focused
    : rows.flatMap((r) => numbers.map((n) => `${r}${n}`)).find((id) => id in seats) ?? null;
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const from = (event.target as HTMLElement).dataset.seat;
    if (!from) return;
    const next = step(from, event.key, rows, layout.seats_per_row, seats);
    if (!next) return;
    event.preventDefault();
    setFocused(next);
    document.querySelector<HTMLButtonElement>(`[data-seat="${next}"]`)?.focus();
  };
  return (
    <div className="overflow-x-auto pb-2">
      <div className="mx-auto w-max min-w-full px-2">
        <div aria-hidden="true" className="mx-auto mb-8 w-4/5">
          <div className="h-2 rounded-[50%] bg-gradient-to-b from-gold-300/80 to-transparent
            shadow-[0_8px_40px_4px] shadow-gold-400/30" />
          <p className="mt-2 text-center text-[10px] uppercase tracking-[0.4em] text-slate-400">Screen this way</p>
        </div>
        <div role="grid" aria-label="Seat map: arrow keys move between seats, Enter or Space chooses one"
             data-testid="seat-map" className="space-y-6" onKeyDown={onKeyDown}>
          {layout.sections.map((section) => (
            <div key={section.name} role="rowgroup" aria-label={`${section.label} section`}>
              <p className="mb-2 text-center text-xs font-medium text-slate-400">
                {section.label} · <span className="text-gold-300">{formatMoney(section.price, layout.currency)}</span>
              </p>
              <div className="space-y-1.5">
                {section.rows.map((row) => (
                  <div key={row} role="row" className="flex items-center justify-center gap-1.5">
                    <span aria-hidden="true" className="w-5 text-center text-xs text-slate-400">{row}</span>
                    {numbers.map((n) => {
                      const id = `${row}${n}`;
                      const seat = seats[id];
                      const cell = seat ? (
                        <span role="gridcell" className="flex">
                        <button
                          type="button"
                          tabIndex={id === current ? 0 : -1}
                          onFocus={() => setFocused(id)}
                          data-seat={id}
                          data-status={id in held ? "mine" : seat.status}
                          aria-label={describe(seat, section.label, id in held, layout.currency)}
                          aria-pressed={id in held}
                          aria-disabled={!(id in held) && seat.status !== "available"}
                          onClick={() => onSelect(id)}
                          className={seatClass(seat, id in held, pending.has(id))}
                        >
                          {seat.accessible && seat.status === "available" && !(id in held) ? (
                            <span aria-hidden="true" className="text-xs">♿</span>
                          ) : (
                            n
                          )}
                          {seat.companion && (
                            <span aria-hidden="true"
                                  className="absolute -bottom-0.5 h-1 w-1 rounded-full bg-violet-300" />
                          )}
                        </button>
                        </span>
                      ) : (
                        <span role="gridcell" className="h-7 w-7 sm:h-8 sm:w-8" />
                      );
                      return (
                        <span key={id} className={`flex ${AISLE_AFTER.has(n) ? "mr-4" : ""}`}>{cell}</span>
                      );
                    })}
                    <span aria-hidden="true" className="w-5 text-center text-xs text-slate-400">{row}</span>
                  </div>
                ))}
              </div>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
});
