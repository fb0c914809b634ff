import { useMutation } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { paymentResultSchema } from "./schemas";

/** The built-in test gateway: pays a dev order and answers what Razorpay Checkout would hand back. */
export function devCheckout(razorpayOrderId: string) {
  return request("/payments/dev/checkout", paymentResultSchema,
                 { method: "POST", body: { razorpay_order_id: razorpayOrderId } });
}

export function useDevCheckout() {
  return useMutation({ mutationFn: devCheckout });
}
