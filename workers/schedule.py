"""The beat schedule, in one place, keyed by task name."""

from __future__ import annotations

from typing import Any

from app.services import tasks

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Lapsed seat holds are released within a few seconds; each run is short and locked against overlap.
    tasks.EXPIRE_HOLDS: {"task": tasks.EXPIRE_HOLDS, "schedule": 2.0,
                                   "options": {"expires": 10}},
    # Waiting rooms admit the next in line within a second of a pass expiring or a sale opening.
    tasks.ADMIT_QUEUES: {"task": tasks.ADMIT_QUEUES, "schedule": 1.0, "options": {"expires": 5}},
    # Unpaid orders past their window expire; stuck webhooks and refunds are retried.
    tasks.EXPIRE_ORDERS: {"task": tasks.EXPIRE_ORDERS, "schedule": 30.0,
                                       "options": {"expires": 60}},
    # Seats freed without a hook (a buyer's own unlock) still reach the waiting list within a minute.
    tasks.SWEEP_WAITLISTS: {"task": tasks.SWEEP_WAITLISTS, "schedule": 60.0,
                                         "options": {"expires": 120}},
    # Reminders go out REMINDER_BEFORE_S before each show, within five minutes.
    tasks.SEND_REMINDERS: {"task": tasks.SEND_REMINDERS, "schedule": 300.0, "options": {"expires": 600}},
    # Beat's heartbeat, for /api/health (how long since beat last ran, as a worker saw it).
    tasks.BEAT_HEARTBEAT: {"task": tasks.BEAT_HEARTBEAT, "schedule": 10.0, "options": {"expires": 20}},
    # Revocations of tokens that have expired anyway are dropped (the table grows with every refresh).
    tasks.PURGE_REVOKED_TOKENS: {"task": tasks.PURGE_REVOKED_TOKENS,
                                              "schedule": 3600.0, "options": {"expires": 1800}},
}
