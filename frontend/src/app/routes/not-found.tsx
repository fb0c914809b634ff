import { Link } from "react-router";

export function NotFoundRoute() {
  return (
    <div className="py-20 text-center">
      <h1 className="text-2xl font-bold text-white">Page not found</h1>
      <Link to="/" className="mt-4 inline-block text-gold-400 hover:underline">Back to movies</Link>
    </div>
  );
}
