import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { adminUserPageSchema, type Role } from "./schemas";

export type UserFilters = { page: number; q?: string; role?: Role; per_page?: number };

export function getUsers(filters: UserFilters, signal?: AbortSignal) {
  return request("/admin/users", adminUserPageSchema, { query: { per_page: 20, ...filters }, signal });
}

export function useUsers(filters: UserFilters) {
  return useQuery({ queryKey: ["admin", "users", filters], queryFn: ({ signal }) => getUsers(filters, signal),
                    placeholderData: keepPreviousData, staleTime: 0 });
}
