import type { Movie } from "../api/schemas";

const palettes = [
  ["#3b1d5e", "#c2410c"], ["#0f3b57", "#14b8a6"], ["#4a1d1d", "#f59e0b"], ["#1e293b", "#6366f1"],
  ["#3f1d38", "#ec4899"], ["#14352a", "#84cc16"], ["#2b2140", "#38bdf8"],
] as const;

/** The movie's poster, or a generated one when it has none. */
export function Poster({ movie, className = "" }: { movie: Pick<Movie, "id" | "title" | "poster_url">;
                                                      className?: string }) {
  if (movie.poster_url) {
    return <img src={movie.poster_url} alt="" loading="lazy" className={`object-cover ${className}`} />;
  }
  const [from, to] = palettes[movie.id % palettes.length]!;
  const initials = movie.title.split(/\s+/).slice(0, 2).map((w) => w[0]).join("").toUpperCase();
  return (
    <div aria-hidden="true" className={`flex items-end p-3 ${className}`}
         style={{ background: `linear-gradient(145deg, ${from}, ${to})` }}>
      <span className="text-4xl font-black tracking-tight text-white/85 drop-shadow">{initials}</span>
    </div>
  );
}
