"""Hold expiry: a beat task that releases lapsed seat holds and announces them."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from celery import shared_task
from flask import current_app

from app.extensions import get_redis
from app.metrics import SEAT_HOLDS_EXPIRED
from app.services import holds

log = logging.getLogger(__name__)

EXPIRE_HOLDS = "workers.holds.expire_holds"
SWEEP_LOCK_MS = 60_000

# Compare-and-delete: only the run that took the lock may drop it.
_UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def sweep_lock_key() -> str:
    return f"{current_app.config['SEAT_LOCK_PREFIX']}:lock:expire-holds"


@shared_task(name=EXPIRE_HOLDS, ignore_result=True, soft_time_limit=50, time_limit=55)
def expire_holds(limit: int = 500) -> dict[str, Any]:
    """Release lapsed holds and publish `seat_released` for them; runs hook handlers for lapsed holds.

    Idempotent (a second run finds nothing); never overlaps another run (a Redis lock with a token).
    """
    client = get_redis()
    token = secrets.token_hex(16)
    if not client.set(sweep_lock_key(), token, nx=True, px=SWEEP_LOCK_MS):
        log.info("expire_holds skipped: another sweep is running")
        return {"skipped": True, "showtimes": 0, "released": 0}
    try:
        lapsed = holds.sweep(limit, client)
    finally:
        client.eval(_UNLOCK, 1, sweep_lock_key(), token)
    released = sum(len(item.released) for item in lapsed)
    SEAT_HOLDS_EXPIRED.inc(released)
    if lapsed:
        log.info("expire_holds released %s seats in %s showtimes", released, len(lapsed))
    return {"skipped": False, "showtimes": len(lapsed), "released": released,
            "lapsed": {str(item.showtime_id): item.by_user for item in lapsed}}
