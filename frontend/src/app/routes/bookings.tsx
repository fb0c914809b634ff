import { BookingsList } from "@/features/bookings/components/bookings-list";

import { RequireAuth } from "./require-auth";

export function BookingsRoute() {
  return (
    <RequireAuth>
      <div className="space-y-6">
        <h1 className="text-3xl font-bold tracking-tight text-white">My bookings</h1>
        <BookingsList />
      </div>
    </RequireAuth>
  );
}
