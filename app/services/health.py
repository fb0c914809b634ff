"""What /api/health says of the background side: how many Celery workers answer a ping, and how long since
beat last ran (its heartbeat task, workers/health.py). The ping waits HEALTH_PING_TIMEOUT_MS at most and its
answer is kept HEALTH_CACHE_S per process, so the endpoint stays cheap however often it is polled; one
request at a time pings, the others wait for its answer."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import current_app

from app.extensions import get_redis

BEAT_LATE_S = 60  # the heartbeat runs every 10 s: a minute without one is beat (or every worker) gone
_lock = threading.Lock()
_cached: dict[int, tuple[float, dict[str, Any]]] = {}  # id(app) -> (when, answer)


def _beat_key() -> str:
    return f"{current_app.config['SEAT_LOCK_PREFIX']}:beat:last"


def record_beat() -> None:
    get_redis().set(_beat_key(), f"{time.time():.3f}", ex=86400)


def _beat_age() -> float | None:
    try:
        raw = get_redis().get(_beat_key())
    except Exception:  # noqa: BLE001  (Redis down: the health answer says so elsewhere)
        return None
    return None if raw is None else max(0.0, round(time.time() - float(raw), 1))


def workers() -> dict[str, Any]:
    """{"mode": "in-process"} in the embedded default (tasks run in the web process), else
    {"mode": "celery", "online": workers that answered, "beat_last_run_s": seconds or None, "healthy": bool}."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("CELERY_EAGER"):
        return {"mode": "in-process", "healthy": True}
    ttl = float(app.config["HEALTH_CACHE_S"])
    cached = _cached.get(id(app))
    if cached is not None and time.monotonic() - cached[0] < ttl:
        return cached[1]
    if not _lock.acquire(blocking=cached is None):  # one ping at a time; the others take the last answer
        return cached[1]  # type: ignore[index]
    try:
        try:
            replies = app.extensions["celery"].control.ping(timeout=int(app.config["HEALTH_PING_TIMEOUT_MS"]) / 1000)
            online = len(replies or [])
        except Exception:  # noqa: BLE001  (the broker is down: nobody answers)
            online = 0
        beat = _beat_age()
        answer = {"mode": "celery", "online": online, "beat_last_run_s": beat,
                  "healthy": online > 0 and beat is not None and beat <= BEAT_LATE_S}
        _cached[id(app)] = (time.monotonic(), answer)
        return answer
    finally:
        _lock.release()
