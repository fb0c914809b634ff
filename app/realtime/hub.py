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

from app.realtime.client import Client, text_frame
from app.realtime.shards import ShardSubscriber
from app.services.seats import events

log = logging.getLogger(__name__)

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

    def _offer(self, raw: str) -> None:
        parsed = _offer_frame(raw)
        if parsed is None:
            return
        showtime_id, user_id, frame = parsed
        for c in self.clients(showtime_id):
            if c.viewer == user_id:
                c.offer_unversioned(frame)

    def _dispatch(self, raw: str) -> None:
        if raw.startswith('{"type":"queue_'):  # the waiting rooms' events (app/realtime/queue_ws.py)
            watch = self.app.extensions.get("queue_watch")
            if watch is not None:
                try:
                    watch.on_event(json.loads(raw))
                except ValueError:
                    pass
            return
        if raw.startswith('{"type":"offer"'):  # a waiting-list offer: for its user's sockets only
            self._offer(raw)
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


def _offer_frame(raw: str) -> tuple[int, str, bytes] | None:
    """(showtime id, user id, the frame its sockets get: the offer without the user id) of an offer message."""
    try:
        offer = json.loads(raw)
        showtime_id, user_id = int(offer["showtime_id"]), str(offer["user_id"])
        text = json.dumps({"type": "offer", "showtime_id": showtime_id, "seat_ids": list(offer["seat_ids"]),
                           "expires_at": str(offer["expires_at"])}, separators=(",", ":"))
    except (ValueError, KeyError, TypeError):
        return None
    return showtime_id, user_id, text_frame(text)


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
