import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { cancelResultSchema } from "./schemas";

/** Cancel before the show; the refund follows the cancellation policy. */
export function cancelBooking(bookingId: number) {
  return request(`/payments/bookings/${bookingId}/cancel`, cancelResultSchema, { method: "POST" });
}

export function useCancelBooking() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: cancelBooking, onSuccess: () => qc.invalidateQueries({ queryKey: ["my-bookings"] }) });
}
