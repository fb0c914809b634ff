"""The one way services queue background work: by task name, with ids only, after the commit."""

from __future__ import annotations

from flask import current_app

from app.services.uow import after_commit

# Every task's name, once: the worker modules register under these, the beat schedule and services use them.
PROCESS_WEBHOOK = "workers.payments.process_webhook"
PROCESS_REFUND = "workers.payments.process_refund"
EXPIRE_ORDERS = "workers.payments.expire_orders"
RENDER_TICKET = "workers.tickets.render_ticket"
EXPIRE_HOLDS = "workers.holds.expire_holds"
NOTIFY_WAITLIST = "workers.waitlist.notify_waitlist"
SWEEP_WAITLISTS = "workers.waitlist.sweep_waitlists"
SEND_OTP_EMAIL = "workers.otp.send_otp_email"
PURGE_REVOKED_TOKENS = "workers.accounts.purge_revoked_tokens"
ADMIT_QUEUES = "workers.waiting_room.admit_queues"


def enqueue(task_name: str, *args: object) -> None:
    """Queue a task by name now (run in-process in the embedded default); ids only, never rows. This app's
    Celery, not the shared_task proxy (which follows whichever app was created last)."""
    current_app.extensions["celery"].tasks[task_name].apply_async(args=list(args))


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Queue a task once the current unit of work commits (never for work that is rolled back)."""
    after_commit(lambda: enqueue(task_name, *args))
