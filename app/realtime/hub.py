"""One Redis subscriber per web process feeding a registry of WebSocket clients per showtime.

The subscriber starts with the first WebSocket connection (never at import) and reconnects by itself
with a capped backoff. Each (re)subscription is confirmed by Redis before clients are told to re-sync,
so a client that may have missed events while the subscriber was away gets a fresh snapshot.

The subscriber never writes to a socket: it drops each event into the client's bounded queue and the
client's own handler thread sends it. A slow client therefore delays nobody else; when its queue is
full it is switched to a fresh snapshot instead of an ever-growing backlog.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from redis.cluster import RedisCluster
from simple_websocket import ConnectionClosed
from wsproto.events import Ping

from app.realtime.shards import ShardSubscriber
from app.services.seats import events

log = logging.getLogger(__name__)

_WAKE = (None, b"")  # queue item that only wakes the client's loop


def text_frame(raw: str) -> bytes:
    """One unfragmented, unmasked WebSocket text frame (RFC 6455 5.2) carrying raw: what wsproto would
    write for it on every server connection, so one event is encoded once for all its listeners."""
    payload = raw.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


class Client:
    """One WebSocket viewer of one showtime; every write goes through `send_lock` (flask-sock issue 85).

    An event reaches the socket one of two ways, in version order either way. When nothing of this client
    is queued or being sent, the subscriber writes the event's frame itself, without waiting (`offer`:
    one non-blocking write, no switch to the client's handler); otherwise it goes through the client's
    queue and its handler writes it. `pending` counts queued frames until they are written, so a direct
    write never overtakes a queued one. When the socket takes only part of a frame, the socket itself
    keeps the rest and writes it before anything else (BoundedSocket), and the handler is woken to flush it."""

    def __init__(self, ws: Any, showtime_id: int, viewer: str | None, max_queue: int = 1000) -> None:
        self.ws = ws
        self.showtime_id = showtime_id
        self.viewer = viewer
        self.queue: queue.Queue[tuple[int | None, bytes]] = queue.Queue(maxsize=max_queue)
        self.send_lock = threading.Lock()
        self.version: int | None = None
        self.resync_needed = False
        self.ready = False  # a snapshot went out and no other is being made: direct writes allowed
        self.pending = 0  # frames in the queue or being written by the handler
        self._count_lock = threading.Lock()

    def offer(self, version: int, frame: bytes) -> None:
        if self.ready and not self.resync_needed and self.send_lock.acquire(blocking=False):
            try:
                if self.ready and not self.resync_needed and self.pending == 0:
                    if self.version is not None and version <= self.version:
                        return  # already in the snapshot
                    if self._write_now(frame):
                        self.version = version
                        if getattr(self.ws.sock, "unsent", False):
                            self.wake_anyway()  # the socket took part: the handler writes the rest (flush)
                        return
            finally:
                self.send_lock.release()
        self._enqueue(version, frame)

    def _write_now(self, frame: bytes) -> bool:
        """Write without waiting (BoundedSocket.try_send); whether the socket took the frame. Under send_lock."""
        try_send = getattr(self.ws.sock, "try_send", None)
        if try_send is None or not self.ws.connected:
            return False
        return bool(try_send(frame))

    def flush(self) -> None:
        """Write the rest of a frame the subscriber began, if the socket still holds one."""
        if getattr(self.ws.sock, "unsent", False):
            with self.send_lock:
                if not self.ws.connected:
                    raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
                self.ws.sock.send(b"")

    def _enqueue(self, version: int | None, frame: bytes) -> None:
        with self._count_lock:
            try:
                self.queue.put_nowait((version, frame))
            except queue.Full:
                self.request_resync()
                return
            self.pending += 1

    def written(self) -> None:
        """A frame taken from the queue was written (or skipped)."""
        with self._count_lock:
            self.pending -= 1

    def wake(self) -> None:
        """Wake the handler's loop (the connection closed): it then sees `ws.connected` false."""
        self.wake_anyway()

    def wake_anyway(self) -> None:
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass

    def request_resync(self) -> None:
        self.resync_needed = True
        self.wake_anyway()  # when the queue is full the loop is busy draining; it sees the flag

    def send(self, text: str) -> None:
        with self.send_lock:
            self.ws.send(text)

    def send_frame(self, frame: bytes) -> None:
        """A text frame made by text_frame(), written as simple-websocket's send() writes its own."""
        with self.send_lock:
            if not self.ws.connected:
                raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
            self.ws.sock.send(frame)

    def write_queued(self, version: int | None, frame: bytes) -> None:
        """Write one frame taken from the queue, unless the snapshot already had it."""
        try:
            if self.version is not None and version is not None and version <= self.version:
                return  # already in the snapshot
            self.send_frame(frame)
            if version is not None:
                self.version = version
        finally:
            self.written()

    def send_snapshot(self, snapshot: Callable[[], tuple[int | None, str]]) -> None:
        """Drop what is queued (older than the snapshot about to be taken), take the snapshot and send it,
        all under send_lock, so no event is written directly while the snapshot is made."""
        with self.send_lock:
            self.ready = False
            self.resync_needed = False
            while True:
                try:
                    _version, frame = self.queue.get_nowait()
                except queue.Empty:
                    break
                if frame:
                    self.written()
            self.version, text = snapshot()
            self.ws.send(text)
            self.ready = True

    def ping(self) -> None:
        """A protocol-level ping (browsers answer it; proxies see traffic), under the same lock."""
        with self.send_lock:
            if not self.ws.connected:
                raise ConnectionClosed()
            self.ws.pong_received = False
            # simple-websocket 1.1 has no public ping(); its own ping_interval would write from another thread
            self.ws.sock.send(self.ws.ws.send(Ping(b"cineverse")))

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        with self.send_lock:
            try:
                self.ws.close(reason=reason, message=message)
            except (ConnectionClosed, OSError):
                pass


class Hub:
    """The per-process registry and its subscriber thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._clients: dict[int, set[Client]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        self.subscriptions = 0  # how many times the subscriber has (re)subscribed
        self.delivered = 0
        self.shards: ShardSubscriber | None = None  # on a Redis Cluster, instead of the one subscriber
        redis_client = app.extensions.get("redis")
        if isinstance(redis_client, RedisCluster):
            self.shards = ShardSubscriber(redis_client, self._shard_channel, self._dispatch, self._shard_resubscribed)

    # ---- registry ----
    def add(self, client: Client, wait: float = 2.0) -> None:
        """Register a client; the subscriber is started (lazily) and awaited first so that a snapshot
        taken after this call misses no event. If Redis is down the client is registered anyway and
        re-synced when the subscription is confirmed."""
        self.follow(client.showtime_id, wait)
        with self._lock:
            self._clients.setdefault(client.showtime_id, set()).add(client)

    def remove(self, client: Client) -> None:
        with self._lock:
            clients = self._clients.get(client.showtime_id)
            if clients is not None:
                clients.discard(client)
                if not clients:
                    del self._clients[client.showtime_id]
        self.unfollow(client.showtime_id)

    def follow(self, showtime_id: int, wait: float = 2.0) -> None:
        """Receive a showtime's events in this process (each seat or queue socket follows its showtime while
        it is open), waiting up to `wait` seconds for the subscription that carries them."""
        if self.shards is not None:
            self.shards.follow(showtime_id, wait)
            return
        self.ensure_started()
        self.subscribed.wait(wait)

    def unfollow(self, showtime_id: int) -> None:
        if self.shards is not None:
            self.shards.unfollow(showtime_id)

    def clients(self, showtime_id: int | None = None) -> list[Client]:
        with self._lock:
            if showtime_id is not None:
                return list(self._clients.get(showtime_id, ()))
            return [c for group in self._clients.values() for c in group]

    # ---- subscriber ----
    def ensure_started(self) -> None:
        if self.shards is not None:
            return  # the shard subscriptions start with the first follow()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="seat-events-subscriber", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self.shards is not None:
            self.shards.stop(timeout)
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self.subscribed.clear()

    @property
    def running(self) -> bool:
        if self.shards is not None:
            return self.shards.running
        return self._thread is not None and self._thread.is_alive()

    def _shard_channel(self, showtime_id: int) -> str:
        with self.app.app_context():
            return events.channel(showtime_id)

    def _shard_resubscribed(self, showtime_id: int) -> None:
        """A showtime's shard subscription was (re)confirmed: its sockets may have missed events."""
        for c in self.clients(showtime_id):
            c.request_resync()
        watch = self.app.extensions.get("queue_watch")
        if watch is not None:
            watch.moved(showtime_id)

    def _run(self) -> None:
        backoff = 0.2
        with self.app.app_context():
            channel = events.channel()
            client: redis.Redis = self.app.extensions["redis"]
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = client.pubsub()
                pubsub.subscribe(channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._on_subscribed()
                        backoff = 0.2
                    elif message["type"] == "message":
                        self._dispatch(message["data"])
            except (redis.RedisError, OSError) as exc:
                if self.subscribed.is_set():
                    log.warning("seat events subscriber lost redis (%s); reconnecting", exc)
                self.subscribed.clear()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # never let the process lose its subscriber
                log.exception("seat events subscriber failed; restarting")
                self.subscribed.clear()
                self._stop.wait(backoff)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: S110  (closing a dead connection)
                        pass

    def _on_subscribed(self) -> None:
        self.subscriptions += 1
        stale = self.clients()
        self.subscribed.set()
        if self.subscriptions > 1 or stale:
            log.info("seat events subscribed (#%s); re-syncing %s clients", self.subscriptions, len(stale))
        for c in stale:  # they may have missed events while nobody listened
            c.request_resync()
        watch = self.app.extensions.get("queue_watch")
        if watch is not None:
            watch.moved_all()

    def _dispatch(self, raw: str) -> None:
        if raw.startswith('{"type":"queue_'):  # the waiting rooms' events (app/realtime/queue_ws.py)
            watch = self.app.extensions.get("queue_watch")
            if watch is not None:
                try:
                    watch.on_event(json.loads(raw))
                except ValueError:
                    pass
            return
        parsed = events.parse_event(raw)
        if parsed is None:
            return
        showtime_id, version = parsed
        listeners = self.clients(showtime_id)
        if listeners:
            frame = text_frame(raw)
            for c in listeners:
                c.offer(version, frame)
        self.delivered += 1


def get_hub(app: Flask) -> Hub:
    return app.extensions["realtime_hub"]


def serve(
    client: Client, snapshot: Any, heartbeat_s: float, poll_s: float = 1.0, tick: Callable[[], None] | None = None
) -> None:
    """Run one client until it goes away: its snapshot, then events in version order, pings when idle.

    `snapshot()` returns the snapshot message's version and text and is called again whenever a re-sync is needed;
    `tick()`, when given, on every turn of the loop (at least every 1.5 * poll_s). Events arrive as frames
    made once per event (text_frame); the connection's end wakes the loop (SeatServer.on_closed).
    """

    def send_snapshot() -> None:
        client.send_snapshot(snapshot)

    send_snapshot()
    last_sent = time.monotonic()
    awaiting_pong = False
    ws = client.ws
    while ws.connected:
        if tick is not None:
            tick()
        if client.resync_needed:
            send_snapshot()
            last_sent = time.monotonic()
            continue
        try:
            # A random share of poll_s (0.5x to 1.5x) per wait: clients that connected in one burst would
            # otherwise all wake in the same instant every poll_s, and an event arriving then waits
            # behind a thousand wake-ups (bench/RESULTS.md, section 2).
            version, frame = client.queue.get(timeout=poll_s * (0.5 + random.random()))
        except queue.Empty:
            now = time.monotonic()
            if now - last_sent >= heartbeat_s:
                if awaiting_pong and not ws.pong_received:
                    log.info("closing a silent websocket of showtime %s", client.showtime_id)
                    client.close(1001, "ping timeout")
                    return
                client.ping()
                awaiting_pong = True
                last_sent = now
            continue
        if not frame:
            client.flush()
            continue
        client.write_queued(version, frame)
        last_sent = time.monotonic()
