const items = [
  ["Available", "bg-emerald-500/5 ring-1 ring-emerald-400/60"],
  ["Your seats", "bg-gold-400"],
  ["Held by others", "bg-sky-500/25 ring-1 ring-sky-400/40"],
  ["Booked", "bg-ink-700"],
] as const;

export function SeatLegend() {
  return (
    <ul className="flex flex-wrap items-center justify-center gap-x-5 gap-y-2 text-xs text-slate-400"
        aria-label="Seat legend">
      {items.map(([label, cls]) => (
        <li key={label} className="flex items-center gap-2">
          <span aria-hidden="true" className={`h-3.5 w-3.5 rounded-t-md rounded-b-sm ${cls}`} />
          {label}
        </li>
      ))}
      <li className="flex items-center gap-2"><span aria-hidden="true">♿</span>Wheelchair space</li>
      <li className="flex items-center gap-2">
        <span aria-hidden="true" className="h-1.5 w-1.5 rounded-full bg-violet-300" />Companion seat
      </li>
    </ul>
  );
}
