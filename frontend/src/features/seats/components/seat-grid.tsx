import { memo } from "react";

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
    + "transition sm:h-8 sm:w-8";
  if (isPending) return `${base} animate-pulse bg-gold-400/50 text-ink-950`;
  if (mine) return `${base} bg-gold-400 text-ink-950 shadow-[0_0_12px_-2px] shadow-gold-400 ring-1 ring-gold-300`;
  switch (seat.status) {
    case "available":
      return `${base} bg-emerald-500/5 text-emerald-200/90 ring-1 ring-emerald-400/60 hover:bg-emerald-400/25 `
        + "hover:ring-emerald-300 cursor-pointer";
    case "locked":
      return `${base} bg-sky-500/25 text-sky-200/70 ring-1 ring-sky-400/40 cursor-not-allowed`;
    case "booked":
      return `${base} bg-ink-700 text-slate-500 cursor-not-allowed`;
    default:
      return `${base} border border-dashed border-ink-700 bg-transparent text-transparent cursor-not-allowed`;
  }
}

function describe(seat: Seat, sectionLabel: string, mine: boolean, currency: string): string {
  const state = mine ? "held by you" : seat.status === "locked" ? "held by someone else" : seat.status === "blocked"
    ? "not for sale" : seat.status;
  const extras = [seat.accessible && "wheelchair space", seat.companion && "companion seat"].filter(Boolean);
  return `Seat ${seat.id}, ${sectionLabel}, ${formatMoney(seat.price, currency)}, ${state}`
    + (extras.length ? `, ${extras.join(", ")}` : "");
}

/** The auditorium: screen on top, one row of buttons per seat row, grouped by section. */
export const SeatGrid = memo(function SeatGrid({ layout, seats, held, pending, onSelect }: Props) {
  const numbers = Array.from({ length: layout.seats_per_row }, (_, i) => i + 1);
  return (
    <div className="overflow-x-auto pb-2">
      <div className="mx-auto w-max min-w-full px-2">
        <div aria-hidden="true" className="mx-auto mb-8 w-4/5">
          <div className="h-2 rounded-[50%] bg-gradient-to-b from-gold-300/80 to-transparent
            shadow-[0_8px_40px_4px] shadow-gold-400/30" />
          <p className="mt-2 text-center text-[10px] uppercase tracking-[0.4em] text-slate-500">Screen this way</p>
        </div>
        <div role="grid" aria-label="Seat map" data-testid="seat-map" className="space-y-6">
          {layout.sections.map((section) => (
            <div key={section.name} role="rowgroup" aria-label={`${section.label} section`}>
              <p className="mb-2 text-center text-xs font-medium text-slate-400">
                {section.label} · <span className="text-gold-300">{formatMoney(section.price, layout.currency)}</span>
              </p>
              <div className="space-y-1.5">
                {section.rows.map((row) => (
                  <div key={row} role="row" className="flex items-center justify-center gap-1.5">
                    <span aria-hidden="true" className="w-5 text-center text-xs text-slate-500">{row}</span>
                    {numbers.map((n) => {
                      const id = `${row}${n}`;
                      const seat = seats[id];
                      const cell = seat ? (
                        <button
                          type="button"
                          role="gridcell"
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
                      ) : (
                        <span role="gridcell" className="h-7 w-7 sm:h-8 sm:w-8" />
                      );
                      return (
                        <span key={id} className={`flex ${AISLE_AFTER.has(n) ? "mr-4" : ""}`}>{cell}</span>
                      );
                    })}
                    <span aria-hidden="true" className="w-5 text-center text-xs text-slate-500">{row}</span>
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
