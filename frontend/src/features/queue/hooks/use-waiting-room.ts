import { useCallback, useEffect, useRef, useState } from "react";

import { ApiError, errorMessage } from "@/lib/api-client";
import { getTokens } from "@/lib/auth-tokens";
import { setQueuePass } from "@/lib/queue-pass";
import { backoffDelay, seatProtocols, wsUrl } from "@/lib/ws-client";

import { joinQueue, queueMessageSchema, queueState, type QueueState } from "../api/queue";

export type WaitingRoomView =
  | { phase: "joining" }
  | { phase: "pre_queue"; opensAt: string }
  | { phase: "waiting"; position: number; estimatedWaitS: number }
  | { phase: "admitted" }
  | { phase: "open" } // the showtime has no waiting room (any more): go straight to the seats
  | { phase: "error"; message: string };

const POLL_MS = 15_000; // only while the socket is down (within the per-account limit of 300 an hour)

function viewOf(showtimeId: number, state: QueueState): WaitingRoomView {
  if (state.state === "admitted" && state.pass && state.pass_expires_at) {
    setQueuePass(showtimeId, state.pass, state.pass_expires_at);
    return { phase: "admitted" };
  }
  if (state.state === "pre_queue") return { phase: "pre_queue", opensAt: state.opens_at ?? "" };
  return { phase: "waiting", position: state.position ?? 0, estimatedWaitS: state.estimated_wait_s ?? 0 };
}

/**
 * Join the showtime's waiting room and follow one's place: the queue socket pushes each new position
 * (about once a second at most) and the admission with its pass; while the socket is down the place is
 * polled every few seconds. The pass is stored for the hold and order routes (lib/queue-pass).
 */
export function useWaitingRoom(showtimeId: number, enabled: boolean) {
  const [view, setView] = useState<WaitingRoomView>({ phase: "joining" });
  const done = useRef(false);

  const apply = useCallback((next: WaitingRoomView) => {
    if (done.current) return;
    if (next.phase === "admitted" || next.phase === "open") done.current = true;
    setView(next);
  }, []);

  const refresh = useCallback(async (join: boolean) => {
    try {
      apply(viewOf(showtimeId, await (join ? joinQueue(showtimeId) : queueState(showtimeId))));
    } catch (error) {
      if (error instanceof ApiError && error.code === "waiting_room_off") apply({ phase: "open" });
      else if (error instanceof ApiError && error.code === "not_in_queue") void refresh(true);
      else if (!(error instanceof ApiError && error.status === 429)) apply({ phase: "error", message: errorMessage(error) });
    }
  }, [apply, showtimeId]);

  useEffect(() => {
    if (!enabled) return undefined;
    done.current = false;
    let socket: WebSocket | null = null;
    let poll: ReturnType<typeof setInterval> | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let attempt = 0;
    let stopped = false;

    const startPolling = () => {
      poll ??= setInterval(() => void refresh(false), POLL_MS);
    };
    const connect = () => {
      if (stopped || done.current) return;
      socket = new WebSocket(wsUrl(`/api/showtimes/${showtimeId}/queue/ws`), seatProtocols(getTokens()?.access));
      socket.onopen = () => {
        attempt = 0;
        if (poll) clearInterval(poll);
        poll = null;
      };
      socket.onmessage = (message) => {
        let parsed;
        try {
          parsed = queueMessageSchema.safeParse(JSON.parse(String(message.data)));
        } catch {
          return;
        }
        if (!parsed.success) return;
        const msg = parsed.data;
        if (msg.type === "admitted") apply(viewOf(showtimeId, { state: "admitted", pass: msg.pass, pass_expires_at: msg.pass_expires_at }));
        else if (msg.type === "queue_position") {
          apply(msg.state === "pre_queue" ? { phase: "pre_queue", opensAt: msg.opens_at ?? "" }
            : { phase: "waiting", position: msg.position ?? 0, estimatedWaitS: msg.estimated_wait_s ?? 0 });
        } else if (msg.error.code === "waiting_room_off") apply({ phase: "open" });
      };
      socket.onclose = () => {
        socket = null;
        if (stopped || done.current) return;
        startPolling();
        retry = setTimeout(connect, backoffDelay(attempt++, 1_000, 30_000));
      };
    };

    void refresh(true).then(() => connect());
    return () => {
      stopped = true;
      if (poll) clearInterval(poll);
      if (retry) clearTimeout(retry);
      socket?.close();
    };
  }, [enabled, refresh, showtimeId]);

  return { view, retry: () => void refresh(true) };
}
