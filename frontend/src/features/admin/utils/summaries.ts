/** Sentences staff read after an action. */
import { formatMoney } from "@/lib/format";

import type { AdminRefund, AdmittedBooking, ShowtimeCancelResult } from "../api/schemas";

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function describeCancellation(result: ShowtimeCancelResult): string {
  return `Showtime cancelled: ${plural(result.bookings_cancelled, "booking")} cancelled, `
    + `${plural(result.refunds, "refund")} started, ${plural(result.orders_expired, "unpaid order")} expired.`;
}

/** "2 seats: A1, A2" */
export function describeSeats(booking: Pick<AdmittedBooking, "seat_ids">): string {
  return `${plural(booking.seat_ids.length, "seat")}: ${booking.seat_ids.join(", ")}`;
}

/** What became of a refund staff asked the gateway for again. */
export function describeRefundRetry(refund: Pick<AdminRefund, "amount" | "order_id" | "state">): string {
  const what = `Refund of ${formatMoney(refund.amount)} for order ${refund.order_id}`;
  if (refund.state === "processed") return `${what} processed.`;
  if (refund.state === "failed") return `${what} refused again.`;
  return `${what} asked again; the gateway has not answered yet.`;
}
