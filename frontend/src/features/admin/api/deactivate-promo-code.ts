import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { promoSchema } from "./schemas";

/** Deactivate a code (it is kept, with the orders that used it). */
export function deactivatePromoCode(promoId: number) {
  return request(`/admin/promo-codes/${promoId}`, promoSchema, { method: "DELETE" });
}

export function useDeactivatePromoCode() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: deactivatePromoCode,
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "promo-codes"] }),
  });
}
