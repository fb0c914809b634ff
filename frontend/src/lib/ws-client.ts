/**
 * The seat WebSocket: a snapshot first, then versioned seat events. Versions of a showtime increase by
 * one per event; a gap means events were missed, so the seat map is re-fetched (events arriving
 * meanwhile are buffered and replayed on top of it). A dropped socket reconnects with exponential
 * backoff and the server opens every connection with a fresh snapshot.
 *
 * The access token never goes into the URL (proxies log URLs): the socket offers two subprotocols,
 * `cineverse.v1` and `bearer.<token>`, and the server answers `cineverse.v1`. The socket is
 * server-to-client only; the server closes it (1008) on any message from the client.
 */

export type SeatEventType = "seat_locked" | "seat_released" | "seat_booked" | "seat_update";
export const SEAT_EVENT_TYPES: readonly SeatEventType[] = ["seat_locked", "seat_released", "seat_booked", "seat_update"];

export type SeatEvent = { type: SeatEventType; seat_ids: string[]; version: number };

export type EventVerdict = "apply" | "stale" | "gap" | "buffered";

/** Pure ordering logic: which events to apply, which to drop, and when to re-sync. */
export class VersionTracker {
  version: number | null = null;
  resyncing = false;
  private buffer: SeatEvent[] = [];

  /** A snapshot at `version` replaced the seats; returns buffered events to feed back through event(). */
  snapshot(version: number | null): SeatEvent[] {
    this.version = version;
    this.resyncing = false;
    const pending = this.buffer
      .filter((e) => version === null || e.version > version)
      .sort((a, b) => a.version - b.version);
    this.buffer = [];
    return pending;
  }

  event(event: SeatEvent): EventVerdict {
    if (this.resyncing) {
      this.buffer.push(event);
      return "buffered";
    }
    if (this.version !== null && event.version <= this.version) return "stale";
    if (this.version !== null && event.version === this.version + 1) {
      this.version = event.version;
      return "apply";
    }
    // a hole in the sequence, or no known version (the snapshot was taken without the lock store)
    this.resyncing = true;
    this.buffer.push(event);
    return "gap";
  }
}

export const SEAT_SUBPROTOCOL = "cineverse.v1";

/** What the server answers a refused token with (the HTTP API's codes); a refresh may fix it. */
export const AUTH_ERROR_CODES: readonly string[] = ["invalid_token", "token_expired", "token_revoked",
  "account_inactive"];

/** The subprotocols a seat socket offers: the protocol, and the viewer's token when signed in. */
export function seatProtocols(token: string | undefined): string[] {
  return token ? [SEAT_SUBPROTOCOL, `bearer.${token}`] : [SEAT_SUBPROTOCOL];
}

export type SeatSnapshot<S> = { version: number | null; seats: S[] };
export type SeatOffer = { seat_ids: string[]; expires_at: string };
export type SocketStatus = "connecting" | "live" | "resyncing" | "reconnecting" | "closed";

export type SeatSocketOptions<S> = {
  /** ws(s) URL; never carries the token */
  url: () => string;
  /** the access token, asked again on every (re)connect so a fresh one is used */
  token?: () => string | undefined;
  /** the seat map over HTTP, for a re-sync after a gap */
  fetchSnapshot: () => Promise<SeatSnapshot<S>>;
  onSnapshot: (snapshot: SeatSnapshot<S>) => void;
  onEvent: (event: SeatEvent) => void;
  /** seats held for this user from the waiting list (outside the versioned events) */
  onOffer?: (offer: SeatOffer) => void;
  onStatus?: (status: SocketStatus) => void;
  /** the server refused the token: return true once a new one is stored */
  onAuthError?: () => Promise<boolean>;
  /** injectable for tests */
  createSocket?: (url: string, protocols: string[]) => WebSocket;
  baseDelayMs?: number;
  maxDelayMs?: number;
};

export function backoffDelay(attempt: number, baseMs = 500, maxMs = 15_000, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exp / 2 + random() * (exp / 2)); // "equal jitter"
}

function parseMessage(data: unknown): Record<string, unknown> | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isSeatEvent(msg: Record<string, unknown>): msg is Record<string, unknown> & SeatEvent {
  return SEAT_EVENT_TYPES.includes(msg.type as SeatEventType) && Array.isArray(msg.seat_ids)
    && typeof msg.version === "number";
}

export class SeatSocket<S> {
  private readonly opts: SeatSocketOptions<S>;
  private readonly tracker = new VersionTracker();
  private socket: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private authRetried = false;
  private resyncRun = 0;

  constructor(opts: SeatSocketOptions<S>) {
    this.opts = opts;
  }

  get version(): number | null {
    return this.tracker.version;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= 1) socket.close(1000, "leaving");
    this.status("closed");
  }

  /** Drop the current socket and connect again at once (e.g. after signing in). */
  restart(): void {
    this.stop();
    this.attempt = 0;
    this.start();
  }

  private status(status: SocketStatus): void {
    this.opts.onStatus?.(status);
  }

  private connect(): void {
    if (this.stopped) return;
    this.status(this.attempt === 0 ? "connecting" : "reconnecting");
    const create = this.opts.createSocket ?? ((url: string, protocols: string[]) => new WebSocket(url, protocols));
    let socket: WebSocket;
    try {
      socket = create(this.opts.url(), seatProtocols(this.opts.token?.()));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => {
      if (this.socket === socket) this.handle(parseMessage(event.data));
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      /* onclose follows and reconnects */
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    this.status("reconnecting");
    const delay = backoffDelay(this.attempt++, this.opts.baseDelayMs, this.opts.maxDelayMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private handle(msg: Record<string, unknown> | null): void {
    if (!msg) return;
    if (msg.type === "snapshot" && Array.isArray(msg.seats)) {
      this.attempt = 0;
      this.authRetried = false;
      this.resyncRun++; // a re-sync still in flight is older than this snapshot
      this.applySnapshot({ version: typeof msg.version === "number" ? msg.version : null, seats: msg.seats as S[] });
      return;
    }
    if (msg.type === "error") {
      const code = (msg.error as { code?: string } | undefined)?.code;
      if (code && AUTH_ERROR_CODES.includes(code) && this.opts.onAuthError && !this.authRetried) {
        this.authRetried = true;
        const socket = this.socket;
        this.socket = null; // its close must not schedule a second reconnect
        socket?.close();
        void this.opts.onAuthError().finally(() => this.connect());
      }
      return;
    }
    if (msg.type === "offer" && Array.isArray(msg.seat_ids) && typeof msg.expires_at === "string") {
      const ids = msg.seat_ids.filter((id): id is string => typeof id === "string");
      this.opts.onOffer?.({ seat_ids: ids, expires_at: msg.expires_at });
      return;
    }
    if (isSeatEvent(msg)) this.feed({ type: msg.type, seat_ids: msg.seat_ids, version: msg.version });
  }

  private applySnapshot(snapshot: SeatSnapshot<S>): void {
    this.opts.onSnapshot(snapshot);
    const pending = this.tracker.snapshot(snapshot.version);
    this.status("live");
    pending.forEach((event) => this.feed(event));
  }

  private feed(event: SeatEvent): void {
    const verdict = this.tracker.event(event);
    if (verdict === "apply") {
      this.opts.onEvent(event);
      // seat_update says "something about these seats changed" without saying what: read them again
      if (event.type === "seat_update") this.beginResync(true);
    } else if (verdict === "gap") {
      this.beginResync(false);
    }
  }

  private beginResync(alreadyCurrent: boolean): void {
    if (alreadyCurrent) this.tracker.resyncing = true;
    const run = ++this.resyncRun;
    this.status("resyncing");
    this.opts.fetchSnapshot().then(
      (snapshot) => {
        if (run !== this.resyncRun || this.stopped) return;
        this.applySnapshot(snapshot);
      },
      () => {
        if (run !== this.resyncRun || this.stopped) return;
        // could not read the map: a new connection starts with a snapshot of its own
        const socket = this.socket;
        this.socket = null;
        socket?.close();
        this.tracker.snapshot(null);
        this.scheduleReconnect();
      },
    );
  }
}

/** ws:// or wss:// for a path on this site. */
export function wsUrl(path: string): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}${path}`;
}
