import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { promoPageSchema } from "./schemas";

export type PromoFilters = { page: number; q?: string; active?: boolean; per_page?: number };

export function getPromoCodes(filters: PromoFilters, signal?: AbortSignal) {
  return request("/admin/promo-codes", promoPageSchema, { query: { per_page: 20, ...filters }, signal });
}

export function usePromoCodes(filters: PromoFilters) {
  return useQuery({ queryKey: ["admin", "promo-codes", filters], queryFn: ({ signal }) => getPromoCodes(filters, signal),
                    placeholderData: keepPreviousData, staleTime: 0 });
}
