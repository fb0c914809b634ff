import { NavLink, Outlet, useLocation, useNavigate } from "react-router";

import { Button } from "@/components/ui";
import { useUser } from "@/features/auth/api/get-me";
import { useLogout } from "@/features/auth/api/logout";
import { useSignedIn } from "@/features/auth/hooks/use-signed-in";
import { useStaff } from "@/features/auth/hooks/use-staff";

const navClass = ({ isActive }: { isActive: boolean }) =>
  `whitespace-nowrap rounded-lg px-2.5 py-2 text-sm font-medium transition sm:px-3 ${isActive ? "bg-ink-800 text-white" : "text-slate-400 hover:text-white"}`;

function UserMenu() {
  const signedIn = useSignedIn();
  const user = useUser();
  const logout = useLogout();
  const navigate = useNavigate();
  const location = useLocation();
  if (!signedIn) {
    if (location.pathname === "/signin") return null;
    const next = location.pathname + location.search;
    return (
      <Button size="sm" onClick={() => navigate(`/signin?next=${encodeURIComponent(next)}`)}>Sign in</Button>
    );
  }
  return (
    <div className="flex items-center gap-2">
      <span className="hidden text-sm text-slate-300 sm:inline" data-testid="user-name">
        {user.data ? `Hi, ${user.data.name.split(" ")[0]}` : ""}
      </span>
      <Button variant="ghost" size="sm" className="whitespace-nowrap" loading={logout.isPending}
              onClick={() => logout.mutate(undefined, { onSettled: () => navigate("/") })}>
        Sign out
      </Button>
    </div>
  );
}

export function Layout() {
  const signedIn = useSignedIn();
  const { isStaff } = useStaff();
  return (
    <div className="flex min-h-screen flex-col bg-[radial-gradient(ellipse_at_top,_#1a1f2b_0%,_#0b0d12_55%)]">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-3 focus:top-3 focus:z-50
        focus:rounded focus:bg-gold-400 focus:px-3 focus:py-2 focus:text-ink-950">Skip to content</a>
      <header className="sticky top-0 z-20 border-b border-ink-800/80 bg-ink-950/80 backdrop-blur">
        <div className="mx-auto flex h-16 max-w-6xl items-center gap-2 px-4 sm:gap-4">
          <NavLink to="/" className="flex items-center gap-2 text-lg font-bold tracking-tight text-white">
            <span aria-hidden="true" className="grid h-8 w-8 place-items-center rounded-lg bg-gold-400 text-ink-950">▶</span>
            <span className="hidden sm:inline">Cine<span className="text-gold-400">Verse</span></span>
            <span className="sr-only sm:hidden">CineVerse</span>
          </NavLink>
          <nav aria-label="Main" className="flex min-w-0 flex-1 items-center gap-1">
            <NavLink to="/" end className={navClass}>Movies</NavLink>
            {signedIn && <NavLink to="/bookings" className={navClass}>My bookings</NavLink>}
            {signedIn && isStaff && <NavLink to="/admin" className={navClass}>Staff</NavLink>}
          </nav>
          <UserMenu />
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-4 py-8">
        <Outlet />
      </main>
      <footer className="border-t border-ink-800/80 py-6 text-center text-xs text-slate-400">
        CineVerse · open-source movie tickets
      </footer>
    </div>
  );
}
