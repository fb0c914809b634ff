"""The waiting room's socket: `WS /api/showtimes/<id>/queue/ws`, signed in (the seat socket's `bearer.`
subprotocol with `cineverse.v1`), for a buyer who joined the queue (POST .../queue) first.

Server to client only:
  {"type": "queue_position", "state": "waiting", "position": N, "estimated_wait_s": S}   (or "pre_queue"
      with "opens_at"), when it changes, at most about once a second;
  {"type": "admitted", "pass": "...", "pass_expires_at": "..."}, as soon as the buyer is admitted; then the
      socket closes (1000).
Refusals as on the seat socket: before the upgrade as JSON (400, 429), after it as an error message and a
1008 close (a refused token, an unknown showtime, `not_in_queue`, `waiting_room_off`).

Cost per socket: nothing per second of its own. Each web process keeps one watcher thread per showtime
with waiting sockets; once a second, when the queue moved (an admission or a leave, from the seat events
channel), it reads every local waiter's position in one pipelined round trip and wakes those whose
position changed. An admission wakes its buyer's socket at once (the `queue_admitted` event).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any

import redis
from flask import Flask, current_app
from flask_jwt_extended.exceptions import JWTExtendedException, NoAuthorizationError
from jwt import PyJWTError

from app import metrics
from app.errors import AppError, NotFound
from app.extensions import config_limit, db, limiter, remote_address
from app.realtime import ipslots
from app.realtime.hub import Client, get_hub, text_frame
from app.realtime.server import POLICY_VIOLATION, SeatServer
from app.services.seats.keys import room_key
from app.services.waiting_room import passes, room

log = logging.getLogger(__name__)

NORMAL_CLOSE = 1000
UPDATE_EVERY_S = 1.0  # positions are re-read at most this often (and only when the queue moved)
REREAD_EVERY_S = 15.0  # and at least this often (a pub/sub message lost while Redis blinked)


class Waiter:
    """One socket of one buyer in one showtime's queue."""

    def __init__(self, showtime_id: int, user_id: str, client: Client | None = None) -> None:
        self.showtime_id = showtime_id
        self.user_id = user_id
        self.client = client
        self.wake = threading.Event()
        self.admitted = False
        self.admitted_message: str | None = None  # to send, when the subscriber could not write it itself
        self.admitted_sent = False  # the subscriber wrote it: the handler only closes
        self.position: int | None = None


class QueueWatch:
    """This process's waiting sockets by showtime, and one watcher thread per showtime with any."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._waiters: dict[int, set[Waiter]] = {}
        self._watched: set[int] = set()  # showtimes with a watcher thread running (one each)
        self._moved: dict[int, bool] = {}
        self.estimates: dict[int, tuple[int, int, int, int, int]] = {}  # recent, window ms, limit, ttl, opens

    def add(self, waiter: Waiter) -> None:
        with self._lock:
            self._waiters.setdefault(waiter.showtime_id, set()).add(waiter)
            start = waiter.showtime_id not in self._watched
            self._watched.add(waiter.showtime_id)
        if start:
            threading.Thread(target=self._watch, args=(waiter.showtime_id,), name="queue-watch", daemon=True).start()

    def remove(self, waiter: Waiter) -> None:
        with self._lock:
            group = self._waiters.get(waiter.showtime_id)
            if group is not None:
                group.discard(waiter)
                if not group:
                    del self._waiters[waiter.showtime_id]

    def on_event(self, event: dict[str, Any]) -> None:
        """A queue event from the seat events channel (the hub's subscriber calls this)."""
        try:
            showtime_id = int(event["showtime_id"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            group = list(self._waiters.get(showtime_id, ()))
            self._moved[showtime_id] = True
        if event.get("type") == "queue_admitted":
            admitted = {str(u) for u in event.get("user_ids", ())}
            expires = event.get("expires")
            for waiter in group:
                if waiter.user_id in admitted:
                    if isinstance(expires, int):
                        self._push_admitted(waiter, expires)
                    waiter.admitted = True
                    waiter.wake.set()

    def _push_admitted(self, waiter: Waiter, expires_ms: int) -> None:
        """Write `admitted` from the subscriber itself, without waiting and without waking the handler
        first (under load a woken handler waits its turn behind every other greenlet); when the socket
        is busy the handler sends it."""
        with self.app.app_context():
            queue_pass = passes.sign_pass(waiter.showtime_id, waiter.user_id, expires_ms)
            text = json.dumps({"type": "admitted", "pass": queue_pass,
                               "pass_expires_at": room._iso(expires_ms).isoformat()})
        client = waiter.client
        if client is not None and client.send_lock.acquire(blocking=False):
            try:
                try_send = getattr(client.ws.sock, "try_send", None)
                if client.ws.connected and try_send is not None and try_send(text_frame(text)):
                    waiter.admitted_sent = True
                    return
            finally:
                client.send_lock.release()
        waiter.admitted_message = text

    def moved(self, showtime_id: int) -> None:
        """One showtime's events may have been missed (its shard subscription came back): its room re-reads."""
        with self._lock:
            if showtime_id in self._waiters:
                self._moved[showtime_id] = True

    def moved_all(self) -> None:
        """The subscriber (re)subscribed: events may have been missed; every room re-reads."""
        with self._lock:
            for showtime_id in self._waiters:
                self._moved[showtime_id] = True

    def _watch(self, showtime_id: int) -> None:
        last_read = 0.0
        while True:
            time.sleep(UPDATE_EVERY_S * (0.8 + 0.4 * random.random()))
            with self._lock:
                group = list(self._waiters.get(showtime_id, ()))
                moved = self._moved.pop(showtime_id, False)
                if not group:  # the last waiter left: this watcher ends, the next waiter starts another
                    self._watched.discard(showtime_id)
                    self.estimates.pop(showtime_id, None)
                    return
            if not moved and time.monotonic() - last_read < REREAD_EVERY_S:
                continue
            last_read = time.monotonic()
            try:
                self._read_positions(showtime_id, group)
            except redis.RedisError as exc:
                log.info("queue positions of showtime %s not read (%s)", showtime_id, exc)
            except Exception:  # never let the watcher die while sockets wait on it
                log.exception("queue watcher of showtime %s failed", showtime_id)

    def _read_positions(self, showtime_id: int, group: list[Waiter]) -> None:
        with self.app.app_context():
            client: redis.Redis = self.app.extensions["redis"]
            now = int(time.time() * 1000)
            pipe = client.pipeline(transaction=False)
            pipe.hget(room_key(showtime_id, "settings"), "v")
            pipe.zcount(room_key(showtime_id, "recent"), now - 300_000, "+inf")
            pipe.zrangebyscore(room_key(showtime_id, "recent"), now - 300_000, "+inf", start=0, num=1, withscores=True)
            for waiter in group:
                pipe.zrank(room_key(showtime_id, "queue"), waiter.user_id)
            settings, recent, oldest, *ranks = pipe.execute()
        parts = (settings or "").split(",")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            window = now - int(oldest[0][1]) if oldest else 0
            self.estimates[showtime_id] = (int(recent), window, int(parts[1]), int(parts[3]), int(parts[2]))
        for waiter, rank in zip(group, ranks, strict=True):
            position = None if rank is None else int(rank) + 1
            if position != waiter.position:
                waiter.position = position
                waiter.wake.set()


def get_watch(app: Flask) -> QueueWatch:
    return app.extensions["queue_watch"]


def _message(state: room.QueueState) -> str:
    if state.state == "admitted":
        return json.dumps({"type": "admitted", **state.body}, default=lambda d: d.isoformat())
    return json.dumps({"type": "queue_position", **{k: v for k, v in state.body.items() if k != "ticket"}},
                      default=lambda d: d.isoformat())


def _position_message(watch: QueueWatch, waiter: Waiter) -> str | None:
    """The waiter's place as a message; None while the room's settings are not known here (a position
    must never go out during the pre-queue, whose order is secret until the opening)."""
    known = watch.estimates.get(waiter.showtime_id)
    if known is None:
        return None
    recent, window, limit, ttl, opens = known
    if opens > time.time() * 1000:
        return json.dumps({"type": "queue_position", "state": "pre_queue",
                           "opens_at": room._iso(opens).isoformat()})
    position = waiter.position or 0
    return json.dumps({"type": "queue_position", "state": "waiting", "position": position,
                       "estimated_wait_s": room.estimated_wait(position, recent, window, limit, ttl)})


def _socket_account_key() -> str:
    """Per-account key for connects: the user of the offered `bearer.` token (verified), else the address."""
    from flask_jwt_extended import decode_token

    from app.realtime import _offered_token

    try:
        token = _offered_token()
        identity = decode_token(token)["sub"] if token else None
    except Exception:  # noqa: BLE001 - the view refuses the token itself
        identity = None
    return f"account:{identity}" if identity is not None else f"address:{remote_address()}"


# Connects count against the queue routes' limits (a connect reads the caller's place, as GET does).
@limiter.limit(config_limit("RATE_LIMIT_QUEUE_PER_IP"))
@limiter.limit(config_limit("RATE_LIMIT_QUEUE_PER_ACCOUNT"), key_func=_socket_account_key)
def queue_ws(showtime_id: int) -> Any:
    """The view behind `WS /api/showtimes/<id>/queue/ws` (registered by app.realtime.init_app)."""
    from app.realtime import serve_socket

    return serve_socket(showtime_id, "queue", lambda ws, token, slot: _run(ws, showtime_id, token, slot))


def _run(ws: SeatServer, showtime_id: int, token: str | None, slot: ipslots.Slot) -> None:
    from app.realtime import _refuse, _viewer

    try:
        viewer = _viewer(token, load_user=False)
        if viewer is None:
            raise NoAuthorizationError("Sign in to wait in the queue.")
        state = room.status(showtime_id, viewer)
    except (JWTExtendedException, PyJWTError) as exc:
        _refuse(ws, exc, "token refused")
        return
    except (AppError, NotFound) as exc:
        _refuse(ws, exc, "not in the queue")
        return
    finally:
        db.session.remove()  # a socket lives long; it must not keep a pooled connection
    _serve(ws, showtime_id, viewer, state, slot)


def _serve(ws: SeatServer, showtime_id: int, viewer: str, state: room.QueueState, slot: ipslots.Slot) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    client = Client(ws, showtime_id, viewer)  # for its locked send, ping and close; not a seat listener
    watch = get_watch(app)
    waiter = Waiter(showtime_id, viewer, client)
    ws.on_closed = waiter.wake.set
    hub = get_hub(app)
    hub.follow(showtime_id, wait=0)  # the admissions arrive through the seat events' subscriber
    watch.add(waiter)
    heartbeat = float(app.config.get("WS_HEARTBEAT_S", 25))
    try:
        with metrics.websocket_open():
            client.send(_message(state))
            if state.state == "admitted":
                client.close(NORMAL_CLOSE, "admitted")
                return
            waiter.position = state.body.get("position")
            last = None
            last_sent = time.monotonic()
            awaiting_pong = False
            while ws.connected:
                woke = waiter.wake.wait(timeout=heartbeat / 2 * (0.5 + random.random()))
                waiter.wake.clear()
                slot.renew_if_due()
                if not ws.connected:
                    return
                if waiter.admitted_sent:  # the subscriber wrote `admitted` (its rest, if any, goes now)
                    client.flush()
                    client.close(NORMAL_CLOSE, "admitted")
                    return
                if waiter.admitted_message is not None:
                    client.send(waiter.admitted_message)
                    client.close(NORMAL_CLOSE, "admitted")
                    return
                if waiter.admitted or (woke and waiter.position is None):
                    # admitted (or gone from the queue): the one read that says so, with the pass
                    try:
                        with app.app_context():
                            now = room.status(showtime_id, viewer)
                    except NotFound as exc:
                        _refuse_client(client, exc)
                        return
                    finally:
                        with app.app_context():
                            db.session.remove()
                    client.send(_message(now))
                    if now.state == "admitted":
                        client.close(NORMAL_CLOSE, "admitted")
                        return
                    waiter.admitted = False
                    continue
                if woke:
                    text = _position_message(watch, waiter)
                    if text is not None and text != last:
                        client.send(text)
                        last, last_sent = text, time.monotonic()
                    continue
                if time.monotonic() - last_sent >= heartbeat:
                    if awaiting_pong and not ws.pong_received:
                        client.close(1001, "ping timeout")
                        return
                    client.ping()
                    awaiting_pong = True
                    last_sent = time.monotonic()
    finally:
        watch.remove(waiter)
        hub.unfollow(showtime_id)


def _refuse_client(client: Client, exc: Exception) -> None:
    from app.realtime import _error_message

    client.send(_error_message(exc))
    client.close(POLICY_VIOLATION, "not in the queue")
