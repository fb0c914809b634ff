/** Report ranges are calendar days (YYYY-MM-DD); the server reads them in the theatre's time zone. */

const pad = (n: number) => String(n).padStart(2, "0");

/** YYYY-MM-DD of `date` in the viewer's time zone. */
export function dayKey(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The day `days` after (or before, when negative) the YYYY-MM-DD `day`. */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split("-").map(Number);
  return dayKey(new Date(y!, m! - 1, d! + days));
}

export type DayRange = { from: string; to: string };

/** `today` and the `days - 1` days after it. */
export function nextDays(days: number, today: Date = new Date()): DayRange {
  const from = dayKey(today);
  return { from, to: addDays(from, days - 1) };
}

/** A readable problem with a range, or null when it can be asked for. */
export function rangeProblem({ from, to }: DayRange, maxDays = 366): string | null {
  if (!from || !to) return "Choose both dates.";
  if (from > to) return "The start date is after the end date.";
  const [fy, fm, fd] = from.split("-").map(Number);
  const [ty, tm, td] = to.split("-").map(Number);
  const span = Math.round((Date.UTC(ty!, tm! - 1, td!) - Date.UTC(fy!, fm! - 1, fd!)) / 86_400_000) + 1;
  return span > maxDays ? `A report covers at most ${maxDays} days.` : null;
}

/** 37.5 -> "37.5%", 40 -> "40%". */
export function formatPercent(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}
