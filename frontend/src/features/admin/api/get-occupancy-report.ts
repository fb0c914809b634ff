import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { occupancyReportSchema } from "./schemas";

export type OccupancyParams = { from: string; to: string; page: number; per_page?: number };

/** Capacity, seats sold and occupancy of each showtime starting in the range (cancelled ones included). */
export function getOccupancyReport(params: OccupancyParams, signal?: AbortSignal) {
  return request("/admin/reports/occupancy", occupancyReportSchema, { query: { per_page: 20, ...params }, signal });
}

export function useOccupancyReport(params: OccupancyParams, enabled = true) {
  return useQuery({ queryKey: ["admin", "occupancy", params], queryFn: ({ signal }) => getOccupancyReport(params, signal),
                    placeholderData: keepPreviousData, staleTime: 0, enabled });
}
