import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";

import { request } from "@/lib/api-client";

const int = z.number().int();

export const waitingRoomSettingsSchema = z.object({
  enabled: z.boolean(),
  active_limit: int,
  sales_open_at: z.string().nullable(),
  pass_ttl_s: int,
});
export type WaitingRoomSettings = z.infer<typeof waitingRoomSettingsSchema>;

export const waitingRoomSchema = waitingRoomSettingsSchema.extend({
  showtime_id: int,
  updated_at: z.string().nullish(),
  waiting: int.nullable(),
  active: int.nullable(),
});

/** A showtime's on-sale settings (the opening time, the waiting room and its pace) and its queue now. */
export function useWaitingRoomSettings(showtimeId: number) {
  return useQuery({
    queryKey: ["admin", "waiting-room", showtimeId],
    queryFn: () => request(`/admin/showtimes/${showtimeId}/waiting-room`, waitingRoomSchema),
    refetchInterval: 5_000,
  });
}

export function useSaveWaitingRoom(showtimeId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (settings: WaitingRoomSettings) =>
      request(`/admin/showtimes/${showtimeId}/waiting-room`, waitingRoomSchema, { method: "PUT", body: settings }),
    onSuccess: (data) => qc.setQueryData(["admin", "waiting-room", showtimeId], data),
  });
}
