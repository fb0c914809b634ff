import { useMutation } from "@tanstack/react-query";

import { request } from "@/lib/api-client";

import { admittedBookingSchema } from "./schemas";

/** Admit the booking of a scanned ticket QR code, once (409 already_checked_in after that). */
export function checkIn(payload: string) {
  return request("/admin/checkin", admittedBookingSchema, { method: "POST", body: { payload } });
}

export function useCheckIn() {
  return useMutation({ mutationFn: checkIn });
}
