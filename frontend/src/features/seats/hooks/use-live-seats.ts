import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { z } from "zod";

import { ApiError, errorMessage, refreshTokens } from "@/lib/api-client";
import { getTokens, subscribeTokens } from "@/lib/auth-tokens";
import { clearQueuePass } from "@/lib/queue-pass";
import { SeatSocket, wsUrl, type SeatEvent, type SeatOffer, type SocketStatus } from "@/lib/ws-client";

import { bestSeats } from "../api/best-seats";
import { extendLocks } from "../api/extend-locks";
import { getSeatMap, useSeatMap } from "../api/get-seat-map";
import { inspectHolds } from "../api/inspect-holds";
import { lockSeats } from "../api/lock-seats";
import { seatSchema, type Holds, type Seat } from "../api/schemas";
import { unlockSeats } from "../api/unlock-seats";

const seatListSchema = z.array(seatSchema);
const seatSetsSchema = z.array(z.array(z.string()).min(1)).max(4);

/** The seat sets a refusal offers instead: orphan_seat's suggestions, no_block_available's split (one set). */
function suggestionsOf(err: ApiError): string[][] {
  if (err.code === "orphan_seat") return seatSetsSchema.safeParse(err.details.suggestions).data ?? [];
  if (err.code === "no_block_available") {
    const split = seatSetsSchema.safeParse(err.details.split).data ?? [];
    return split.length ? [split.flat()] : [];
  }
  return [];
}

/** What a screen reader hears of a change made by someone else (a polite live region). */
export function announce(event: SeatEvent): string {
  const ids = event.seat_ids.slice(0, 6).join(", ") + (event.seat_ids.length > 6 ? " and more" : "");
  const one = event.seat_ids.length === 1;
  if (event.type === "seat_locked") return `Seat${one ? "" : "s"} ${ids} just taken.`;
  if (event.type === "seat_released") return `Seat${one ? "" : "s"} ${ids} available again.`;
  if (event.type === "seat_booked") return `Seat${one ? "" : "s"} ${ids} sold.`;
  return "";
}

/** seat id -> when the caller's hold lapses (null until known) */
export type HeldSeats = Record<string, string | null>;

function toRecord(seats: Seat[]): Record<string, Seat> {
  return Object.fromEntries(seats.map((s) => [s.id, s]));
}

function applyEvent(seats: Record<string, Seat>, event: SeatEvent): Record<string, Seat> {
  const next = { ...seats };
  for (const id of event.seat_ids) {
    const seat = next[id];
    if (!seat) continue;
    if (event.type === "seat_locked") next[id] = { ...seat, status: "locked" };
    else if (event.type === "seat_released") next[id] = { ...seat, status: "available", mine: false };
    else if (event.type === "seat_booked") next[id] = { ...seat, status: "booked", mine: false };
  }
  return next;
}

function holdsFrom(response: Holds): HeldSeats {
  return Object.fromEntries(response.holds.map((h) => [h.seat_id, h.expires_at]));
}

/**
 * The live seat map of a showtime and the caller's holds: REST for the first paint, then the
 * WebSocket's snapshot and events; selecting a seat holds it, selecting it again releases it.
 */
export function useLiveSeats(showtimeId: number) {
  const seatMap = useSeatMap(showtimeId);
  const signedIn = useSyncExternalStore(subscribeTokens, () => getTokens() !== null, () => false);
  const [seats, setSeats] = useState<Record<string, Seat> | null>(null);
  const [held, setHeld] = useState<HeldSeats>({});
  const [pending, setPending] = useState<Set<string>>(new Set());
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<"extend" | "release" | null>(null);
  const [suggestions, setSuggestions] = useState<string[][]>([]);
  const [offer, setOffer] = useState<SeatOffer | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const live = useRef(false);

  const replaceSeats = useCallback((list: Seat[]) => {
    setSeats(toRecord(list));
    // the snapshot is the truth about which seats are ours; keep known expiry times
    setHeld((prev) => Object.fromEntries(list.filter((s) => s.mine && s.status === "locked")
      .map((s) => [s.id, prev[s.id] ?? null])));
  }, []);

  // first paint from REST until the socket's snapshot arrives
  useEffect(() => {
    if (seatMap.data && !live.current) replaceSeats(seatMap.data.seats);
  }, [seatMap.data, replaceSeats]);

  useEffect(() => {
    live.current = false;
    const socket = new SeatSocket<Seat>({
      url: () => wsUrl(`/api/showtimes/${showtimeId}/seats/ws`),
      token: () => getTokens()?.access,
      fetchSnapshot: async () => {
        const map = await getSeatMap(showtimeId);
        return { version: map.version ?? null, seats: map.seats };
      },
      onSnapshot: (snapshot) => {
        const parsed = seatListSchema.safeParse(snapshot.seats);
        if (!parsed.success) return;
        live.current = true;
        replaceSeats(parsed.data);
      },
      onEvent: (event) => {
        setSeats((prev) => (prev ? applyEvent(prev, event) : prev));
        setAnnouncement(announce(event));
        if (event.type === "seat_released" || event.type === "seat_booked") {
          setHeld((prev) => {
            const next = { ...prev };
            event.seat_ids.forEach((id) => delete next[id]);
            return next;
          });
        }
      },
      onOffer: (offer) => {
        setHeld((prev) => ({ ...prev, ...Object.fromEntries(offer.seat_ids.map((id) => [id, offer.expires_at])) }));
        setSeats((prev) => {
          if (!prev) return prev;
          const next = { ...prev };
          offer.seat_ids.forEach((id) => {
            const seat = next[id];
            if (seat) next[id] = { ...seat, status: "locked", mine: true };
          });
          return next;
        });
        setOffer(offer);
      },
      onStatus: setStatus,
      onAuthError: refreshTokens,
    });
    socket.start();
    return () => socket.stop();
  }, [showtimeId, signedIn, replaceSeats]);

  // after a reload the snapshot says which seats are ours but not until when: ask
  const unknown = Object.entries(held).filter(([, at]) => at === null).map(([id]) => id).sort().join(",");
  useEffect(() => {
    if (!unknown) return;
    let cancelled = false;
    inspectHolds(showtimeId, unknown.split(",")).then((r) => {
      if (cancelled) return;
      setHeld((prev) => {
        const next = { ...prev };
        r.seats.forEach((s) => {
          if (s.seat_id in next && s.mine && s.expires_at) next[s.seat_id] = s.expires_at;
        });
        return next;
      });
    }, () => undefined);
    return () => {
      cancelled = true;
    };
  }, [showtimeId, unknown]);

  const markSeats = (ids: string[], patch: Partial<Seat>) =>
    setSeats((prev) => {
      if (!prev) return prev;
      const next = { ...prev };
      ids.forEach((id) => {
        const seat = next[id];
        if (seat) next[id] = { ...seat, ...patch };
      });
      return next;
    });

  /** Hold seats (one click, a suggestion, or best available's `pick`); a refusal's message and the seat
   *  sets the server suggests instead (orphan_seat, no_block_available) are kept for the picker. */
  const hold = async (seatIds: string[], pick?: () => ReturnType<typeof lockSeats>) => {
    setSuggestions([]);
    setPending((p) => new Set([...p, ...seatIds]));
    try {
      const response = await (pick ? pick() : lockSeats({ showtimeId, seatIds }));
      setHeld(holdsFrom(response));
      markSeats(response.holds.map((h) => h.seat_id), { status: "locked", mine: true });
    } catch (err) {
      setError(errorMessage(err));
      if (err instanceof ApiError && err.code === "queue_pass_required") clearQueuePass(showtimeId);
      if (err instanceof ApiError && err.code === "seat_taken" && Array.isArray(err.details.seat_ids)) {
        markSeats(err.details.seat_ids as string[], { status: "locked", mine: false });
      }
      if (err instanceof ApiError) setSuggestions(suggestionsOf(err));
    } finally {
      setPending((p) => new Set([...p].filter((id) => !seatIds.includes(id))));
    }
  };

  const release = async (seatIds: string[]) => {
    if (seatIds.length === 0) return;
    setError(null);
    setBusy("release");
    setPending((p) => new Set([...p, ...seatIds]));
    try {
      const response = await unlockSeats({ showtimeId, seatIds });
      setHeld((prev) => {
        const next = { ...prev };
        seatIds.forEach((id) => delete next[id]);
        return next;
      });
      markSeats(response.released, { status: "available", mine: false });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
      setPending((p) => new Set([...p].filter((id) => !seatIds.includes(id))));
    }
  };

  /** Select or deselect a seat; returns false when the caller must sign in first. */
  const toggle = (seatId: string): boolean => {
    if (!getTokens()) return false;
    const seat = seats?.[seatId];
    if (!seat || pending.has(seatId)) return true;
    setError(null);
    if (seatId in held) void release([seatId]);
    else if (seat.status === "available") void hold([seatId]);
    return true;
  };

  /** Hold one of the seat sets a refusal suggested. */
  const holdSuggestion = (seatIds: string[]) => {
    setError(null);
    void hold(seatIds);
  };

  /** Best available: the server picks and holds the best block of `count` seats. */
  const holdBest = (count: number) => {
    if (!getTokens()) return false;
    setError(null);
    void hold([], () => bestSeats({ showtimeId, count }));
    return true;
  };

  const extend = async () => {
    const ids = Object.keys(held);
    if (ids.length === 0) return;
    setError(null);
    setBusy("extend");
    try {
      setHeld(holdsFrom(await extendLocks({ showtimeId, seatIds: ids })));
    } catch (err) {
      setError(errorMessage(err));
      if (err instanceof ApiError && err.code === "queue_pass_required") clearQueuePass(showtimeId);
    } finally {
      setBusy(null);
    }
  };

  return {
    layout: seatMap.data,
    layoutError: seatMap.error,
    isLoading: seatMap.isPending,
    seats,
    held,
    pending,
    status,
    error,
    busy,
    suggestions,
    offer,
    announcement,
    dismissOffer: () => setOffer(null),
    clearError: () => {
      setError(null);
      setSuggestions([]);
    },
    toggle,
    holdSuggestion,
    holdBest,
    release,
    extend,
  };
}
