"""The embedded default runs periodic tasks on a timer thread instead of Celery beat."""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def start_embedded_beat(app: Flask) -> threading.Thread | None:
    """With tasks executed in-process, run the beat schedule on a daemon thread; else do nothing."""
    if not app.config.get("CELERY_EAGER") or app.config.get("TESTING"):
        return None
    from workers.schedule import BEAT_SCHEDULE

    celery_app = app.extensions["celery"]
    stop = threading.Event()

    def loop() -> None:
        elapsed = 0.0
        tick = min((float(e["schedule"]) for e in BEAT_SCHEDULE.values()), default=5.0)
        while not stop.wait(tick):
            elapsed += tick
            for entry in BEAT_SCHEDULE.values():
                if elapsed % float(entry["schedule"]) < tick:
                    try:
                        celery_app.tasks[entry["task"]].apply()
                    except Exception:
                        log.exception("embedded beat task %s failed", entry["task"])

    thread = threading.Thread(target=loop, name="embedded-beat", daemon=True)
    thread.start()
    app.extensions["embedded_beat_stop"] = stop
    return thread
