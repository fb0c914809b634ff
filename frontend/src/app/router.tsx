import { createBrowserRouter, Navigate } from "react-router";

import { PageSpinner } from "@/components/ui";

import { Layout } from "./layout";
import { BookingsRoute } from "./routes/bookings";
import { CheckoutRoute } from "./routes/checkout";
import { MovieRoute } from "./routes/movie";
import { MoviesRoute } from "./routes/movies";
import { NotFoundRoute } from "./routes/not-found";
import { ShowtimeRoute } from "./routes/showtime";
import { SignInRoute } from "./routes/sign-in";

// the staff area is one lazily loaded chunk: customers never download it
const admin = () => import("./routes/admin");

export const router = createBrowserRouter([
  {
    element: <Layout />,
    HydrateFallback: () => <PageSpinner />,
    children: [
      { index: true, element: <MoviesRoute /> },
      { path: "movies/:movieId", element: <MovieRoute /> },
      { path: "showtimes/:showtimeId", element: <ShowtimeRoute /> },
      { path: "checkout/:showtimeId", element: <CheckoutRoute /> },
      { path: "bookings", element: <BookingsRoute /> },
      { path: "signin", element: <SignInRoute /> },
      {
        path: "admin",
        lazy: async () => ({ Component: (await admin()).AdminRoute }),
        children: [
          { index: true, element: <Navigate replace to="sales" /> },
          { path: "sales", lazy: async () => ({ Component: (await admin()).AdminSalesRoute }) },
          { path: "showtimes", lazy: async () => ({ Component: (await admin()).AdminShowtimesRoute }) },
          { path: "checkin", lazy: async () => ({ Component: (await admin()).AdminCheckInRoute }) },
          { path: "promo-codes", lazy: async () => ({ Component: (await admin()).AdminPromoCodesRoute }) },
          { path: "refunds", lazy: async () => ({ Component: (await admin()).AdminRefundsRoute }) },
          { path: "users", lazy: async () => ({ Component: (await admin()).AdminUsersRoute }) },
        ],
      },
      { path: "*", element: <NotFoundRoute /> },
    ],
  },
]);
