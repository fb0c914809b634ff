/** The access and refresh tokens, kept in localStorage and shared with every tab of this origin. */

const KEY = "cineverse.tokens";

export type StoredTokens = { access: string; refresh: string };

type Listener = (tokens: StoredTokens | null) => void;
const listeners = new Set<Listener>();

function read(): StoredTokens | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<StoredTokens>;
    return typeof parsed.access === "string" && typeof parsed.refresh === "string"
      ? { access: parsed.access, refresh: parsed.refresh }
      : null;
  } catch {
    return null;
  }
}

let current: StoredTokens | null = typeof localStorage === "undefined" ? null : read();

export function getTokens(): StoredTokens | null {
  return current;
}

export function setTokens(tokens: StoredTokens | null): void {
  current = tokens;
  if (tokens) localStorage.setItem(KEY, JSON.stringify(tokens));
  else localStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(tokens));
}

export function subscribeTokens(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

if (typeof window !== "undefined") {
  // another tab signed in or out
  window.addEventListener("storage", (event) => {
    if (event.key !== KEY) return;
    current = read();
    listeners.forEach((fn) => fn(current));
  });
}
