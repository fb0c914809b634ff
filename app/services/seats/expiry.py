"""Hold expiry: the sweep that releases lapsed holds, and the reactions registered to a lapse.

The expiry sweep never misses a lapse (an entry leaves `expiry` only when its key is gone, or when its
holder released it) and never releases a renewed hold (it checks the key's current holder and TTL, and a
renewal rewrites the entry's score). The index is kept at or below each showtime's earliest expiry:
locks lower it with ZADD LT, extensions only raise expiries, and the sweep recomputes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from app.extensions import get_redis
from app.services.seats import scripts
from app.services.seats.keys import clustered, events_channel, expiry_key, index_key, showtime_prefix, version_key

log = logging.getLogger(__name__)


@dataclass
class Lapsed:
    """Holds that expired in one showtime: the seats now free, and each former holder's seats."""

    showtime_id: int
    released: list[str]
    by_user: dict[str, list[str]] = field(default_factory=dict)
    version: int | None = None


LapseHandler = Callable[[Lapsed], None]
_lapse_handlers: list[LapseHandler] = []


def on_holds_lapsed(handler: LapseHandler) -> LapseHandler:
    """Register a function called (inside the expiry task's app context) with each showtime's lapsed holds.

    The orders service registers `expire orders whose holds lapsed` here; a handler's failure is logged
    and does not stop the sweep.
    """
    if handler not in _lapse_handlers:
        _lapse_handlers.append(handler)
    return handler


def remove_lapse_handler(handler: LapseHandler) -> None:
    if handler in _lapse_handlers:
        _lapse_handlers.remove(handler)


def due_showtimes(limit: int = 500, client: redis.Redis | None = None) -> list[int]:
    """Showtimes whose earliest hold expiry has passed (the index may point early, never late)."""
    client = client or get_redis()
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    due: list[Any] = client.zrangebyscore(index_key(), "-inf", now_ms, start=0, num=limit)
    return [int(s) for s in due]


def sweep_showtime(showtime_id: int, client: redis.Redis | None = None) -> Lapsed:
    """Release the lapsed holds of one showtime and publish `seat_released` for them (idempotent)."""
    out = scripts.run("sweep", [expiry_key(showtime_id), index_key(showtime_id), version_key(showtime_id)],
               [showtime_id, showtime_prefix(showtime_id), events_channel(showtime_id)], client)
    if clustered():  # the script kept the index in the showtime's slot: the real one follows it
        redis_client = client or get_redis()
        first = redis_client.zrange(expiry_key(showtime_id), 0, 0, withscores=True)
        if first:
            redis_client.zadd(index_key(), {str(showtime_id): first[0][1]})  # type: ignore[index]
        else:
            redis_client.zrem(index_key(), showtime_id)
    lapsed = Lapsed(showtime_id, list(out[0]), version=int(out[2]) or None)
    for member in out[1]:
        label, _, uid = member.partition("|")
        lapsed.by_user.setdefault(uid, []).append(label)
    if lapsed.by_user:
        log.info("holds lapsed showtime=%s released=%s", showtime_id, ",".join(lapsed.released))
        for handler in list(_lapse_handlers):
            try:
                handler(lapsed)
            except Exception:
                log.exception("hold lapse handler %r failed for showtime %s", handler, showtime_id)
    return lapsed


def sweep(limit: int = 500, client: redis.Redis | None = None) -> list[Lapsed]:
    """Sweep every showtime that has lapsed holds; returns what was released."""
    client = client or get_redis()
    return [lapsed for sid in due_showtimes(limit, client)
            if (lapsed := sweep_showtime(sid, client)).by_user]
