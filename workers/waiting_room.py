"""Waiting rooms: admit the next in line where a pass expired or a sale opened (buy and leave admit in
their own request; this beat task covers what only time changes)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import shared_task

from app.celery_ext import single_instance
from app.errors import AppError, NotFound
from app.services import tasks
from app.services.waiting_room import room

log = logging.getLogger(__name__)


@shared_task(name=tasks.ADMIT_QUEUES, ignore_result=True, soft_time_limit=20, time_limit=25)
@single_instance("admit-queues", 30_000, skipped={"skipped": True, "rooms": 0, "admitted": 0})
def admit_queues(limit: int = 100) -> dict[str, Any]:
    """One admission run in every room that is due; idempotent (the script admits only into free places)."""
    admitted = 0
    due = room.due_showtimes(limit)
    for showtime_id in due:
        try:
            admitted += room.tick(showtime_id)
        except NotFound:
            room.forget(showtime_id)  # a deleted showtime: never due again
        except (redis.RedisError, AppError) as exc:  # one room's trouble must not stop the others
            log.warning("waiting room of showtime %s: admission run failed (%s)", showtime_id, exc)
    if admitted:
        log.info("admit_queues admitted %s buyers in %s rooms", admitted, len(due))
    return {"skipped": False, "rooms": len(due), "admitted": admitted}
