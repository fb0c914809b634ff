/** The staff area (/admin), loaded as its own chunk. */
import { NavLink, Outlet } from "react-router";

import { CheckInForm } from "@/features/admin/components/check-in-form";
import { OccupancyReport } from "@/features/admin/components/occupancy-report";
import { PromoCodes } from "@/features/admin/components/promo-codes";
import { RefundsList } from "@/features/admin/components/refunds-list";
import { SalesReport } from "@/features/admin/components/sales-report";
import { ShowtimesList } from "@/features/admin/components/showtimes-list";
import { UsersList } from "@/features/admin/components/users-list";
import { useStaff } from "@/features/auth/hooks/use-staff";

import { RequireStaff } from "./require-staff";

const tabs = [
  { to: "sales", label: "Sales" },
  { to: "showtimes", label: "Showtimes" },
  { to: "checkin", label: "Check-in" },
  { to: "promo-codes", label: "Promo codes" },
  { to: "refunds", label: "Refunds" },
  { to: "users", label: "Users" },
] as const;

const tabClass = ({ isActive }: { isActive: boolean }) =>
  `whitespace-nowrap rounded-lg px-3 py-2 text-sm font-medium transition ${
    isActive ? "bg-gold-400 text-ink-950" : "text-slate-300 hover:bg-ink-800 hover:text-white"}`;

export function AdminRoute() {
  return (
    <RequireStaff>
      <div className="space-y-6">
        <div>
          <h1 className="text-3xl font-bold tracking-tight text-white">Staff</h1>
          <p className="mt-1 text-slate-400">Sales, showtimes, check-in, promo codes, refunds and accounts.</p>
        </div>
        <nav aria-label="Staff" className="-mx-1 flex gap-1 overflow-x-auto rounded-xl bg-ink-900 p-1 ring-1 ring-ink-700/70">
          {tabs.map((t) => <NavLink key={t.to} to={t.to} className={tabClass}>{t.label}</NavLink>)}
        </nav>
        <Outlet />
      </div>
    </RequireStaff>
  );
}

export function AdminSalesRoute() {
  return (
    <div className="space-y-10">
      <SalesReport />
      <OccupancyReport />
    </div>
  );
}

export function AdminShowtimesRoute() {
  return <ShowtimesList />;
}

export function AdminCheckInRoute() {
  return <CheckInForm />;
}

export function AdminPromoCodesRoute() {
  return <PromoCodes />;
}

export function AdminRefundsRoute() {
  return <RefundsList />;
}

export function AdminUsersRoute() {
  const { user } = useStaff();
  const me = user.data;
  if (!me) return null;
  return <UsersList viewer={{ id: me.id, role: me.role === "superadmin" ? "superadmin" : "admin" }} />;
}
