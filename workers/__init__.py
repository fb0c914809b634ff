"""Celery task modules; importing this package registers every task with the current Celery app."""

from __future__ import annotations

from workers import (  # noqa: F401  (registers the tasks)
    accounts,
    health,
    holds,
    mail,
    otp,
    payments,
    tickets,
    waiting_room,
    waitlist,
)
from workers.schedule import BEAT_SCHEDULE


def configure_beat(celery_app) -> None:  # type: ignore[no-untyped-def]
    celery_app.conf.beat_schedule = BEAT_SCHEDULE
