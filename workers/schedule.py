"""The beat schedule, in one place, keyed by task name."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Lapsed seat holds are released within a few seconds; each run is short and locked against overlap.
    "workers.holds.expire_holds": {"task": "workers.holds.expire_holds", "schedule": 2.0,
                                   "options": {"expires": 10}},
}
