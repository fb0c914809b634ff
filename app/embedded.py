"""The embedded default runs periodic tasks on a timer thread instead of Celery beat."""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)
BEAT_THREAD = "embedded-beat"


class _QuietBeat(logging.Filter):
    """Drop Celery's per-task "succeeded" lines for the beat thread's ticks (one every two seconds would
    bury the server log); its warnings and failures, and every other task's lines, still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or threading.current_thread().name != BEAT_THREAD


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

    trace_log = logging.getLogger("celery.app.trace")
    if not any(isinstance(f, _QuietBeat) for f in trace_log.filters):
        trace_log.addFilter(_QuietBeat())
    thread = threading.Thread(target=loop, name=BEAT_THREAD, daemon=True)
    thread.start()
    app.extensions["embedded_beat_stop"] = stop
    return thread
