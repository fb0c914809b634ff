"""The beat schedule, in one place, keyed by task name."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Lapsed seat holds are released within a few seconds; each run is short and locked against overlap.
    "workers.holds.expire_holds": {"task": "workers.holds.expire_holds", "schedule": 2.0,
                                   "options": {"expires": 10}},
    # Unpaid orders past their window expire; stuck webhooks and refunds are retried.
    "workers.payments.expire_orders": {"task": "workers.payments.expire_orders", "schedule": 30.0,
                                       "options": {"expires": 60}},
}
