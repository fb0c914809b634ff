import { describe, expect, it } from "vitest";

import { formatMoney } from "@/lib/format";

import {
  adminRefundPageSchema, adminRefundSchema, adminUserPageSchema, occupancyReportSchema, promoPageSchema,
  salesReportSchema, showtimeCancelSchema, showtimeSalesSchema,
} from "./schemas";
import { describeCancellation, describeRefundRetry, describeSeats } from "../utils/summaries";

const money = (amount: number) => ({ amount, currency: "INR" });
const figures = (gross: number, refunds: number) =>
  ({ bookings: 2, seats_sold: 3, gross: money(gross), refunds: money(refunds), net: money(gross - refunds) });

describe("staff report schemas", () => {
  it("parse the sales report the API sends", () => {
    const report = salesReportSchema.parse({
      from: "2026-03-01", to: "2026-03-30", group_by: "movie", currency: "INR", totals: figures(60_000, 20_000),
      items: [{ key: "7", label: "Starlight Harbour", movie_id: 7, ...figures(60_000, 20_000) }],
      total: 1, page: 1, per_page: 20,
    });
    expect(report.items[0]?.label).toBe("Starlight Harbour");
    expect(formatMoney(report.totals.net.amount)).toBe("₹400");
  });

  it("refuse an unknown grouping and money that is not integer paise", () => {
    const base = { from: "2026-03-01", to: "2026-03-30", currency: "INR", items: [], total: 0, page: 1, per_page: 20 };
    expect(salesReportSchema.safeParse({ ...base, group_by: "week", totals: figures(0, 0) }).success).toBe(false);
    expect(salesReportSchema.safeParse({ ...base, group_by: "day", totals: figures(10.5, 0) }).success).toBe(false);
  });

  it("parse occupancy rows, with or without held seats", () => {
    const row = { showtime_id: 3, starts_at: "2026-03-02T13:30:00+00:00", status: "scheduled",
                  movie: { id: 1, title: "M" }, theatre: { id: 2, name: "T" }, screen: "Screen 1", capacity: 216,
                  sold: 54, occupancy_percent: 25.0 };
    const parsed = occupancyReportSchema.parse({
      from: "2026-03-01", to: "2026-03-07", items: [row, { ...row, showtime_id: 4, held: 2 }],
      totals: { showtimes: 2, capacity: 432, sold: 108, occupancy_percent: 25.0 }, total: 2, page: 1, per_page: 20,
    });
    expect(parsed.items.map((r) => r.held ?? null)).toEqual([null, 2]);
  });

  it("parse a showtime's sales and the outcome of cancelling it", () => {
    const sales = showtimeSalesSchema.parse({
      showtime_id: 3, status: "scheduled", starts_at: "2026-03-02T13:30:00+00:00", seats_total: 216,
      seats: { available: 213, booked: 3, blocked: 0 },
      sections: [{ name: "gold", available: 100, booked: 3, blocked: 0 }],
      bookings_confirmed: 2, bookings_cancelled: 0, revenue: money(60_000),
    });
    expect(sales.seats.booked).toBe(3);
    const cancelled = showtimeCancelSchema.parse({
      showtime: { id: 3, status: "cancelled", starts_at: "2026-03-02T13:30:00+00:00", movie: { id: 1, title: "M" } },
      bookings_cancelled: 2, refunds: 2, orders_expired: 1,
    });
    expect(describeCancellation(cancelled))
      .toBe("Showtime cancelled: 2 bookings cancelled, 2 refunds started, 1 unpaid order expired.");
    expect(describeSeats({ seat_ids: ["A1"] })).toBe("1 seat: A1");
  });

  it("parse promo and user pages", () => {
    const promos = promoPageSchema.parse({ items: [{
      id: 1, code: "FIRST50", description: "", kind: "flat", value: 5_000, max_discount: null, min_order_amount: 0,
      valid_from: null, valid_until: null, max_redemptions: null, once_per_user: false, is_active: true,
      redemptions: 0, created_at: "2026-03-01T10:00:00+00:00" }], total: 1, page: 1, per_page: 20 });
    expect(promos.items[0]?.kind).toBe("flat");
    const users = adminUserPageSchema.parse({ items: [{ id: 1, email: "a@example.com", name: "A", phone: null,
      role: "admin", is_active: false, created_at: "2026-03-01T10:00:00+00:00" }], total: 1, page: 1, per_page: 20 });
    expect(users.items[0]?.is_active).toBe(false);
    expect(adminUserPageSchema.safeParse({ ...users, items: [{ ...users.items[0], role: "owner" }] }).success).toBe(false);
  });

  it("parse the refunds page, a refused refund and the retried one", () => {
    const failed = {
      id: 9, state: "failed", amount: 60_000, reason: "showtime_cancelled", attempts: 1,
      requested_at: "2026-03-02T10:00:00+00:00", last_error: "The refund is more than what is left of the payment.",
      gateway_refund_id: null, created_at: "2026-03-02T10:00:00+00:00", order_id: "ord_5KQ2",
      order_state: "refund_failed", gateway_payment_id: "pay_dev_1a2b", user_id: 4,
    };
    const page = adminRefundPageSchema.parse({ items: [failed], total: 1, page: 1, per_page: 20 });
    expect(page.items[0]?.last_error).toContain("more than what is left");
    expect(formatMoney(page.items[0]?.amount ?? 0)).toBe("₹600");
    // a pending refund has not been asked yet: no attempt time, no error, no gateway refund
    const fresh = adminRefundSchema.parse({ ...failed, state: "pending", attempts: 0, requested_at: null,
                                            last_error: null });
    expect(fresh.requested_at).toBeNull();
    const retried = adminRefundSchema.parse({ ...failed, state: "processed", attempts: 2, last_error: null,
                                              gateway_refund_id: "rfnd_dev_9f" });
    expect(describeRefundRetry(retried)).toBe("Refund of ₹600 for order ord_5KQ2 processed.");
    expect(describeRefundRetry(fresh))
      .toBe("Refund of ₹600 for order ord_5KQ2 asked again; the gateway has not answered yet.");
    expect(adminRefundSchema.safeParse({ ...failed, state: "refunded" }).success).toBe(false);
    expect(adminRefundSchema.safeParse({ ...failed, amount: 600.5 }).success).toBe(false);
    expect(adminRefundSchema.safeParse({ ...failed, order_id: 5 }).success).toBe(false);
  });
});
