import { useQuery } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { theatrePageSchema } from "./schemas";

/** The cities that have theatres (for the city filter). */
export async function getCities(signal?: AbortSignal): Promise<string[]> {
  const page = await request("/theatres", theatrePageSchema, { query: { per_page: 100 }, auth: false, signal });
  return [...new Set(page.items.map((t) => t.city))].sort((a, b) => a.localeCompare(b));
}

export function useCities() {
  return useQuery({ queryKey: ["cities"], queryFn: ({ signal }) => getCities(signal), staleTime: 10 * 60_000 });
}
