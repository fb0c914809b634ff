"""The one way services queue background work: by task name, with ids only, after the commit."""

from __future__ import annotations

from flask import current_app

from app.services.uow import after_commit

PROCESS_WEBHOOK = "workers.payments.process_webhook"
PROCESS_REFUND = "workers.payments.process_refund"
RENDER_TICKET = "workers.tickets.render_ticket"


def enqueue(task_name: str, *args: object) -> None:
    """Queue a task by name now (run in-process in the embedded default); ids only, never rows."""
    current_app.extensions["celery"].tasks[task_name].apply_async(args=list(args))


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Queue a task once the current unit of work commits (never for work that is rolled back)."""
    after_commit(lambda: enqueue(task_name, *args))
