"""Hold expiry: a beat task that releases lapsed seat holds and announces them."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from app.celery_ext import single_instance, single_instance_key
from app.extensions import get_redis
from app.metrics import SEAT_HOLDS_EXPIRED
from app.services import tasks
from app.services.seats import expiry

log = logging.getLogger(__name__)

SWEEP_LOCK_MS = 60_000


def sweep_lock_key() -> str:
    return single_instance_key("expire-holds")


@shared_task(name=tasks.EXPIRE_HOLDS, ignore_result=True, soft_time_limit=50, time_limit=55)
@single_instance("expire-holds", SWEEP_LOCK_MS, skipped={"skipped": True, "showtimes": 0, "released": 0})
def expire_holds(limit: int = 500) -> dict[str, Any]:
    """Release lapsed holds and publish `seat_released` for them; runs hook handlers for lapsed holds.

    Idempotent (a second run finds nothing); never overlaps another run.
    """
    lapsed = expiry.sweep(limit, get_redis())
    released = sum(len(item.released) for item in lapsed)
    SEAT_HOLDS_EXPIRED.inc(released)
    if lapsed:
        log.info("expire_holds released %s seats in %s showtimes", released, len(lapsed))
    return {"skipped": False, "showtimes": len(lapsed), "released": released,
            "lapsed": {str(item.showtime_id): item.by_user for item in lapsed}}
