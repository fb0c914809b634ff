import { useMutation } from "@tanstack/react-query";

import { request } from "@/lib/api-client";
import { queuePassHeaders } from "@/lib/queue-pass";

import { orderSchema } from "./schemas";

export type CreateOrderInput = { showtime_id: number; seat_ids: string[]; promo_code?: string };

/** An order for seats the caller holds; the amount (less any promo code's discount) is computed on the server. */
export function createOrder(input: CreateOrderInput) {
  return request("/payments/create-order", orderSchema,
                 { method: "POST", body: input, headers: queuePassHeaders(input.showtime_id) });
}

export function useCreateOrder() {
  return useMutation({ mutationFn: createOrder });
}
