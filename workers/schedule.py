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
    # Seats freed without a hook (a buyer's own unlock) still reach the waiting list within a minute.
    "workers.waitlist.sweep_waitlists": {"task": "workers.waitlist.sweep_waitlists", "schedule": 60.0,
                                         "options": {"expires": 120}},
    # Revocations of tokens that have expired anyway are dropped (the table grows with every refresh).
    "workers.accounts.purge_revoked_tokens": {"task": "workers.accounts.purge_revoked_tokens",
                                              "schedule": 3600.0, "options": {"expires": 1800}},
}
