import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  backoffDelay,
  SeatSocket,
  VersionTracker,
  type SeatEvent,
  type SeatSnapshot,
  type SeatSocketOptions,
} from "./ws-client";

const ev = (version: number, type: SeatEvent["type"] = "seat_locked", seat_ids = ["A1"]): SeatEvent =>
  ({ type, seat_ids, version });

describe("VersionTracker", () => {
  it("applies consecutive versions and drops stale ones", () => {
    const t = new VersionTracker();
    t.snapshot(5);
    expect(t.event(ev(6))).toBe("apply");
    expect(t.event(ev(6))).toBe("stale");
    expect(t.event(ev(4))).toBe("stale");
    expect(t.event(ev(7))).toBe("apply");
    expect(t.version).toBe(7);
  });

  it("reports a gap, buffers until the next snapshot, then replays only newer events in order", () => {
    const t = new VersionTracker();
    t.snapshot(1);
    expect(t.event(ev(3))).toBe("gap");
    expect(t.event(ev(5))).toBe("buffered");
    expect(t.event(ev(4))).toBe("buffered");
    const replay = t.snapshot(3);
    expect(replay.map((e) => e.version)).toEqual([4, 5]);
    replay.forEach((e) => expect(t.event(e)).toBe("apply"));
    expect(t.version).toBe(5);
  });

  it("treats any event after a version-less snapshot as a gap", () => {
    const t = new VersionTracker();
    t.snapshot(null);
    expect(t.event(ev(10))).toBe("gap");
  });
});

describe("backoffDelay", () => {
  it("grows exponentially and is capped", () => {
    expect(backoffDelay(0, 500, 15_000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 15_000, () => 1)).toBe(4000);
    expect(backoffDelay(20, 500, 15_000, () => 1)).toBe(15_000);
    expect(backoffDelay(3, 500, 15_000, () => 0)).toBe(2000);
  });
});

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 1;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string, readonly protocols: string[] = []) {
    FakeSocket.all.push(this);
  }
  send() {}
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  emit(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

describe("SeatSocket", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  function make(fetchSnapshot: () => Promise<SeatSnapshot<string>>,
                extra: Partial<SeatSocketOptions<string>> = {}) {
    const snapshots: SeatSnapshot<string>[] = [];
    const events: number[] = [];
    const socket = new SeatSocket<string>({
      url: () => "ws://test/seats/ws",
      fetchSnapshot,
      onSnapshot: (s) => snapshots.push(s),
      onEvent: (e) => events.push(e.version),
      createSocket: (url, protocols) => new FakeSocket(url, protocols) as unknown as WebSocket,
      ...extra,
    });
    socket.start();
    return { socket, snapshots, events };
  }

  it("re-fetches the snapshot on a version gap and replays what came meanwhile", async () => {
    let resolve!: (s: SeatSnapshot<string>) => void;
    const fetchSnapshot = vi.fn(() => new Promise<SeatSnapshot<string>>((r) => (resolve = r)));
    const { socket, snapshots, events } = make(fetchSnapshot);
    const ws = FakeSocket.all[0]!;
    ws.emit({ type: "snapshot", version: 1, seats: ["a"] });
    ws.emit({ type: "seat_locked", seat_ids: ["A1"], version: 2 });
    ws.emit({ type: "seat_locked", seat_ids: ["A2"], version: 4 }); // 3 was lost
    expect(fetchSnapshot).toHaveBeenCalledTimes(1);
    ws.emit({ type: "seat_released", seat_ids: ["A2"], version: 5 });
    resolve({ version: 4, seats: ["fresh"] });
    await Promise.resolve();
    expect(snapshots.map((s) => s.version)).toEqual([1, 4]);
    expect(events).toEqual([2, 5]);
    expect(socket.version).toBe(5);
    socket.stop();
  });

  it("reconnects with backoff after the socket drops, and the new snapshot replaces the seats", () => {
    const { socket, snapshots } = make(() => Promise.reject(new Error("unused")));
    FakeSocket.all[0]!.emit({ type: "snapshot", version: 3, seats: [] });
    FakeSocket.all[0]!.close();
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(600);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.emit({ type: "snapshot", version: 9, seats: [] });
    expect(snapshots.map((s) => s.version)).toEqual([3, 9]);
    expect(socket.version).toBe(9);
    socket.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(2); // stopped: no more reconnects
  });

  it("offers the token as a subprotocol, never in the URL, and a fresh one on each connect", () => {
    let token: string | undefined = "aaa.bbb.ccc";
    const { socket } = make(() => Promise.reject(new Error("unused")), { token: () => token });
    expect(FakeSocket.all[0]!.protocols).toEqual(["cineverse.v1", "bearer.aaa.bbb.ccc"]);
    expect(FakeSocket.all[0]!.url).toBe("ws://test/seats/ws");
    token = undefined; // signed out meanwhile
    FakeSocket.all[0]!.close();
    vi.advanceTimersByTime(600);
    expect(FakeSocket.all[1]!.protocols).toEqual(["cineverse.v1"]);
    socket.stop();
  });

  it.each(["invalid_token", "token_expired", "token_revoked", "account_inactive"])(
    "refreshes once and reconnects with the new token after %s", async (code) => {
      let token = "old.token.x";
      const onAuthError = vi.fn(async () => {
        token = "new.token.y";
        return true;
      });
      const { socket } = make(() => Promise.reject(new Error("unused")), { token: () => token, onAuthError });
      FakeSocket.all[0]!.emit({ type: "error", error: { code, message: "refused" } });
      await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
      expect(onAuthError).toHaveBeenCalledTimes(1);
      expect(FakeSocket.all[1]!.protocols).toEqual(["cineverse.v1", "bearer.new.token.y"]);
      socket.stop();
    });
});
