import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { verifyResultSchema, type PaymentResult } from "./schemas";

/** Check the gateway's signature and turn the payment into a booking (idempotent). */
export function verifyPayment(result: PaymentResult) {
  return request("/payments/verify", verifyResultSchema, {
    method: "POST",
    body: {
      razorpay_order_id: result.razorpay_order_id,
      razorpay_payment_id: result.razorpay_payment_id,
      razorpay_signature: result.razorpay_signature,
    },
  });
}

export function useVerifyPayment() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: verifyPayment, onSuccess: () => qc.invalidateQueries({ queryKey: ["my-bookings"] }) });
}
