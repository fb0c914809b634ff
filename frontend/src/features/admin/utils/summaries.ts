/** Sentences staff read after an action. */
import type { AdmittedBooking, ShowtimeCancelResult } from "../api/schemas";

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function describeCancellation(result: ShowtimeCancelResult): string {
  return `Showtime cancelled: ${plural(result.bookings_cancelled, "booking")} cancelled, `
    + `${plural(result.refunds, "refund")} started, ${plural(result.orders_expired, "unpaid order")} expired.`;
}

/** "2 seats: A1, A2" */
export function describeSeats(booking: Pick<AdmittedBooking, "seat_ids">): string {
  return `${plural(booking.seat_ids.length, "seat")}: ${booking.seat_ids.join(", ")}`;
}
