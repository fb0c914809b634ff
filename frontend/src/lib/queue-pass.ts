/**
 * Waiting-room passes, one per showtime, kept for this tab (sessionStorage): the server admits a buyer
 * and signs a pass bound to them and the showtime; the hold and order routes want it in X-Queue-Pass.
 * The server decides whether a pass still stands (expired, used by a purchase, given back): a 403
 * `queue_pass_required` means this copy is worthless and the buyer goes back to the queue.
 */

export const QUEUE_PASS_HEADER = "X-Queue-Pass";

type Stored = { pass: string; expiresAt: string };

const key = (showtimeId: number) => `cineverse.queue-pass.${showtimeId}`;

function read(showtimeId: number): Stored | null {
  try {
    const raw = sessionStorage.getItem(key(showtimeId));
    if (!raw) return null;
    const stored = JSON.parse(raw) as Stored;
    if (typeof stored.pass !== "string" || Date.parse(stored.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(key(showtimeId));
      return null;
    }
    return stored;
  } catch {
    return null;
  }
}

export function getQueuePass(showtimeId: number): Stored | null {
  return read(showtimeId);
}

export function setQueuePass(showtimeId: number, pass: string, expiresAt: string): void {
  sessionStorage.setItem(key(showtimeId), JSON.stringify({ pass, expiresAt }));
  window.dispatchEvent(new CustomEvent("cineverse:queue-pass", { detail: showtimeId }));
}

export function clearQueuePass(showtimeId: number): void {
  sessionStorage.removeItem(key(showtimeId));
  window.dispatchEvent(new CustomEvent("cineverse:queue-pass", { detail: showtimeId }));
}

/** The header for the hold and order routes of a showtime; empty without a pass. */
export function queuePassHeaders(showtimeId: number): Record<string, string> {
  const stored = read(showtimeId);
  return stored ? { [QUEUE_PASS_HEADER]: stored.pass } : {};
}
