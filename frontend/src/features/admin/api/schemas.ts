/** Staff API shapes (app/schemas/admin.py, accounts.py, payments.py). Money is integer paise. */
import { z } from "zod";

import { pageSchema } from "@/types/api";

const int = z.number().int();

export const moneySchema = z.object({ amount: int, currency: z.string() });
export type Money = z.infer<typeof moneySchema>;

// ---------------------------------------------------------------- reports

export const GROUP_BY = ["day", "movie", "theatre"] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export const salesFiguresSchema = z.object({
  bookings: int,
  seats_sold: int,
  gross: moneySchema,
  refunds: moneySchema,
  net: moneySchema,
});
export type SalesFigures = z.infer<typeof salesFiguresSchema>;

export const salesRowSchema = salesFiguresSchema.extend({
  key: z.string(),
  label: z.string(),
  movie_id: int.optional(),
  theatre_id: int.optional(),
});
export type SalesRow = z.infer<typeof salesRowSchema>;

export const salesReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.enum(GROUP_BY),
  currency: z.string(),
  totals: salesFiguresSchema,
  items: z.array(salesRowSchema),
  total: int,
  page: int,
  per_page: int,
});
export type SalesReport = z.infer<typeof salesReportSchema>;

export const occupancyRowSchema = z.object({
  showtime_id: int,
  starts_at: z.string(),
  status: z.string(),
  movie: z.object({ id: int, title: z.string() }),
  theatre: z.object({ id: int, name: z.string() }),
  screen: z.string(),
  capacity: int,
  sold: int,
  held: int.nullish(),
  occupancy_percent: z.number(),
});
export type OccupancyRow = z.infer<typeof occupancyRowSchema>;

export const occupancyReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  totals: z.object({ showtimes: int, capacity: int, sold: int, occupancy_percent: z.number() }),
  items: z.array(occupancyRowSchema),
  total: int,
  page: int,
  per_page: int,
});
export type OccupancyReport = z.infer<typeof occupancyReportSchema>;

// ---------------------------------------------------------------- showtimes

export const showtimeSalesSchema = z.object({
  showtime_id: int,
  status: z.string(),
  starts_at: z.string(),
  seats_total: int,
  seats: z.record(z.string(), int),
  sections: z.array(z.object({ name: z.string(), available: int, booked: int, blocked: int })),
  bookings_confirmed: int,
  bookings_cancelled: int,
  revenue: moneySchema,
});
export type ShowtimeSales = z.infer<typeof showtimeSalesSchema>;

export const showtimeCancelSchema = z.object({
  showtime: z.object({ id: int, status: z.string(), starts_at: z.string() }),
  bookings_cancelled: int,
  refunds: int,
  orders_expired: int,
});
export type ShowtimeCancelResult = z.infer<typeof showtimeCancelSchema>;

// ---------------------------------------------------------------- check-in

export const admittedBookingSchema = z.object({
  id: int,
  reference: z.string(),
  showtime_id: int,
  seat_ids: z.array(z.string()),
  amount: int,
  currency: z.string(),
  state: z.string(),
  checked_in_at: z.string().nullish(),
  created_at: z.string().optional(),
});
export type AdmittedBooking = z.infer<typeof admittedBookingSchema>;

// ---------------------------------------------------------------- promo codes

export const PROMO_KINDS = ["percent", "flat"] as const;
export type PromoKind = (typeof PROMO_KINDS)[number];

export const promoSchema = z.object({
  id: int,
  code: z.string(),
  description: z.string().nullish(),
  kind: z.enum(PROMO_KINDS),
  value: int,
  max_discount: int.nullish(),
  min_order_amount: int,
  valid_from: z.string().nullish(),
  valid_until: z.string().nullish(),
  max_redemptions: int.nullish(),
  once_per_user: z.boolean(),
  is_active: z.boolean(),
  redemptions: int,
  created_at: z.string().optional(),
});
export type Promo = z.infer<typeof promoSchema>;
export const promoPageSchema = pageSchema(promoSchema);

// ---------------------------------------------------------------- users

export const ROLES = ["user", "admin", "superadmin"] as const;
export type Role = (typeof ROLES)[number];

export const adminUserSchema = z.object({
  id: int,
  email: z.string(),
  name: z.string(),
  phone: z.string().nullish(),
  role: z.enum(ROLES),
  is_active: z.boolean(),
  created_at: z.string().optional(),
});
export type AdminUser = z.infer<typeof adminUserSchema>;
export const adminUserPageSchema = pageSchema(adminUserSchema);

// ---------------------------------------------------------------- refunds

export const REFUND_STATES = ["pending", "processed", "failed"] as const;
export type RefundState = (typeof REFUND_STATES)[number];

/** A refund as staff see it (RefundAdminSchema): `failed` means the gateway refused it and staff decide. */
export const adminRefundSchema = z.object({
  id: int,
  state: z.enum(REFUND_STATES),
  amount: int,
  reason: z.string(),
  attempts: int,
  requested_at: z.string().nullish(),
  last_error: z.string().nullish(),
  gateway_refund_id: z.string().nullish(),
  created_at: z.string(),
  order_id: z.string(),
  order_state: z.string(),
  gateway_payment_id: z.string(),
  user_id: int,
});
export type AdminRefund = z.infer<typeof adminRefundSchema>;
export const adminRefundPageSchema = pageSchema(adminRefundSchema);
