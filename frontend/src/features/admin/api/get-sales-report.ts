import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { type GroupBy, salesReportSchema } from "./schemas";

/** Without from/to the server reports the 30 days up to its own today (in the theatres' time zone). */
export type SalesReportParams = { from?: string; to?: string; group_by: GroupBy; page: number; per_page?: number };

export function getSalesReport(params: SalesReportParams, signal?: AbortSignal) {
  return request("/admin/reports/sales", salesReportSchema, { query: { per_page: 20, ...params }, signal });
}

export function useSalesReport(params: SalesReportParams, enabled = true) {
  return useQuery({ queryKey: ["admin", "sales-report", params], queryFn: ({ signal }) => getSalesReport(params, signal),
                    placeholderData: keepPreviousData, staleTime: 0, enabled });
}
