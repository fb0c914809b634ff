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
BEAT_HEARTBEAT = "workers.health.beat_heartbeat"
SEND_CONFIRMATION = "workers.mail.send_confirmation"
SEND_REMINDERS = "workers.mail.send_reminders"
SEND_REFUND_NOTICE = "workers.mail.send_refund_notice"


# Queues by urgency: a worker consuming several takes from each in turn, and a backlog on one (a mail
# campaign, a burst of tickets) never stands in front of another's work. `payments`: money and seats (webhooks,
# refunds, order and hold expiry, waiting-room admissions, beat's heartbeat); `otp`: sign-in codes, which a
# person waits for; `mail`: every other mail; `tickets`: PDF rendering; `celery`: upkeep.
QUEUES: dict[str, tuple[str, ...]] = {
    "payments": (PROCESS_WEBHOOK, PROCESS_REFUND, EXPIRE_ORDERS, EXPIRE_HOLDS, ADMIT_QUEUES, BEAT_HEARTBEAT),
    "otp": (SEND_OTP_EMAIL,),
    "mail": (NOTIFY_WAITLIST, SWEEP_WAITLISTS, SEND_CONFIRMATION, SEND_REMINDERS, SEND_REFUND_NOTICE),
    "tickets": (RENDER_TICKET,),
    "celery": (PURGE_REVOKED_TOKENS,),
}
ALL_QUEUES = ",".join(QUEUES)  # `celery worker -Q` for a worker that does everything
TASK_ROUTES = {name: {"queue": queue} for queue, names in QUEUES.items() for name in names}


def enqueue(task_name: str, *args: object) -> None:
    """Queue a task by name now (run in-process in the embedded default); ids only, never rows. This app's
    Celery, not the shared_task proxy (which follows whichever app was created last)."""
    current_app.extensions["celery"].tasks[task_name].apply_async(args=list(args))


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Queue a task once the current unit of work commits (never for work that is rolled back)."""
    after_commit(lambda: enqueue(task_name, *args))
