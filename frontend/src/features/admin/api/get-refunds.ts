import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { adminRefundPageSchema, type RefundState } from "./schemas";

/** Without `state` every refund is listed; `failed` ones are those the gateway refused. */
export type RefundFilters = { page: number; state?: RefundState; per_page?: number };

export function getRefunds(filters: RefundFilters, signal?: AbortSignal) {
  return request("/admin/refunds", adminRefundPageSchema, { query: { per_page: 20, ...filters }, signal });
}

export function useRefunds(filters: RefundFilters) {
  return useQuery({ queryKey: ["admin", "refunds", filters], queryFn: ({ signal }) => getRefunds(filters, signal),
                    placeholderData: keepPreviousData, staleTime: 0 });
}
