import { useSyncExternalStore } from "react";

import { getQueuePass } from "@/lib/queue-pass";

function subscribe(fn: () => void): () => void {
  window.addEventListener("cineverse:queue-pass", fn);
  const timer = setInterval(fn, 5_000); // a stored pass also ends by itself when it expires
  return () => {
    window.removeEventListener("cineverse:queue-pass", fn);
    clearInterval(timer);
  };
}

/** Whether this tab holds an unexpired pass for the showtime (re-renders when one is stored or dropped). */
export function useHasQueuePass(showtimeId: number): boolean {
  return useSyncExternalStore(subscribe, () => getQueuePass(showtimeId) !== null, () => false);
}
