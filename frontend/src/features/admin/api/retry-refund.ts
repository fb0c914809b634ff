import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { adminRefundSchema } from "./schemas";

/** Ask the gateway again for a refund it refused (409 `refund_not_failed` for any other state). */
export function retryRefund(refundId: number) {
  return request(`/admin/refunds/${refundId}/retry`, adminRefundSchema, { method: "POST" });
}

export function useRetryRefund() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: retryRefund,
    // a failed refund is left out of the sales report's refunds and net, a retried one counts again
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin"] }),
  });
}
