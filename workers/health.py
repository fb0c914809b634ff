"""Beat's heartbeat: a task beat schedules every 10 s; the time a worker ran it is what /api/health
reports as beat's last run (app.services.health)."""

from __future__ import annotations

from celery import shared_task

from app.services import health, tasks


@shared_task(name=tasks.BEAT_HEARTBEAT, ignore_result=True)
def beat_heartbeat() -> None:
    health.record_beat()
