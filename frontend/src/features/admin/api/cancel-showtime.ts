import { useMutation, useQueryClient } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { showtimeCancelSchema } from "./schemas";

/** Cancel a showtime: every booking is cancelled and refunded in full, unpaid orders expire. */
export function cancelShowtime(showtimeId: number) {
  return request(`/admin/showtimes/${showtimeId}/cancel`, showtimeCancelSchema, { method: "POST" });
}

export function useCancelShowtime() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: cancelShowtime,
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin"] }),
  });
}
