import { z } from "zod";

import { bookingSchema } from "@/types/api";

export const orderSchema = z.object({
  order_id: z.string(),
  gateway: z.string(),
  gateway_order_id: z.string().nullish(),
  razorpay_order_id: z.string().nullish(),
  amount: z.number().int(),
  subtotal: z.number().int().optional(),
  discount: z.number().int().optional(),
  promo_code: z.string().nullish(),
  currency: z.string(),
  key_id: z.string().nullish(),
  state: z.string().optional(),
  showtime_id: z.number().int(),
  seat_ids: z.array(z.string()),
  expires_at: z.string().nullish(),
});
export type Order = z.infer<typeof orderSchema>;

export { bookingSchema, type Booking } from "@/types/api";

export const paymentResultSchema = z.object({
  razorpay_order_id: z.string(),
  razorpay_payment_id: z.string(),
  razorpay_signature: z.string(),
});
export type PaymentResult = z.infer<typeof paymentResultSchema>;

export const verifyResultSchema = z.object({
  status: z.enum(["booked", "refunded", "refund_pending"]),
  order: orderSchema.optional(),
  booking: bookingSchema.nullish(),
});
export type VerifyResult = z.infer<typeof verifyResultSchema>;

/** The id Checkout knows the order by. */
export function checkoutOrderId(order: Order): string {
  return order.razorpay_order_id ?? order.gateway_order_id ?? order.order_id;
}
