import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import type { PromoCreateBody } from "../utils/promo-form";

import { promoSchema } from "./schemas";

export function createPromoCode(body: PromoCreateBody) {
  return request("/admin/promo-codes", promoSchema, { method: "POST", body });
}

export function useCreatePromoCode() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: createPromoCode,
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "promo-codes"] }),
  });
}
