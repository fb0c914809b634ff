import { createBrowserRouter } from "react-router";

import { Layout } from "./layout";
import { BookingsRoute } from "./routes/bookings";
import { CheckoutRoute } from "./routes/checkout";
import { MovieRoute } from "./routes/movie";
import { MoviesRoute } from "./routes/movies";
import { NotFoundRoute } from "./routes/not-found";
import { ShowtimeRoute } from "./routes/showtime";
import { SignInRoute } from "./routes/sign-in";

export const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { index: true, element: <MoviesRoute /> },
      { path: "movies/:movieId", element: <MovieRoute /> },
      { path: "showtimes/:showtimeId", element: <ShowtimeRoute /> },
      { path: "checkout/:showtimeId", element: <CheckoutRoute /> },
      { path: "bookings", element: <BookingsRoute /> },
      { path: "signin", element: <SignInRoute /> },
      { path: "*", element: <NotFoundRoute /> },
    ],
  },
]);
