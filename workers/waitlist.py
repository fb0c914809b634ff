"""Waiting-list notices: mail the earliest waiting users when seats of a showtime are free again."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from celery import shared_task
from flask import current_app

from app.services import tasks, waitlist
from app.services.mail import MailError, send_mail
from app.services.uow import transaction

log = logging.getLogger(__name__)

MAX_RETRIES = 3


def _text(notice: waitlist.Notice, showtime_id: int) -> str:
    when = notice.starts_at.astimezone(ZoneInfo(current_app.config["APP_TIMEZONE"]))
    seats = "a seat" if notice.entry.seats == 1 else f"{notice.entry.seats} seats"
    return (
        f"Hello {notice.name},\n\n"
        f"Seats are free again for {notice.movie_title} on {when:%a %d %b %Y at %H:%M}. You asked for {seats}: "
        f"pick them before someone else does.\n\n"
        f"{current_app.config['PUBLIC_BASE_URL']}/showtimes/{showtime_id}\n\n"
        "This is not a reservation. You are on the waiting list because you joined it; leave it from "
        "your account.\n"
    )


@shared_task(bind=True, name=tasks.NOTIFY_WAITLIST, max_retries=MAX_RETRIES, acks_late=True)
def notify_waitlist(self, showtime_id: int) -> int:  # type: ignore[no-untyped-def]
    """Mail the waiting users whose count fits the free seats and mark them notified; idempotent
    (the notified mark and the cooldown), retried on mail errors for those not yet told."""
    failed: MailError | None = None
    sent = 0
    with transaction():
        for notice in waitlist.due_notices(showtime_id):
            try:
                send_mail(notice.email, f"Seats are free: {notice.movie_title}", _text(notice, showtime_id))
            except MailError as exc:
                failed = exc
                break
            waitlist.mark_notified(notice.entry)
            sent += 1
    if sent:
        log.info("waitlist of showtime %s: %s users told", showtime_id, sent)
    if failed is not None:
        countdown = min(120, 10 * 2**self.request.retries)
        log.warning("waitlist of showtime %s: mail failed (attempt %s), retrying in %ss: %s", showtime_id,
                    self.request.retries + 1, countdown, failed)
        raise self.retry(exc=failed, countdown=countdown)
    return sent


@shared_task(name=tasks.SWEEP_WAITLISTS)
def sweep_waitlists() -> int:
    """Queue a notice run for every showtime someone waits for. The hooks (lapsed holds, failed or
    expired orders, cancellations) tell the waiting list at once; this catches what frees seats without
    a hook: a buyer's own unlock (kept off that hot path) or staff unblocking seats. A run with no free
    seats, or only users told within the cooldown, sends nothing."""
    showtimes = waitlist.waiting_showtimes()
    for showtime_id in showtimes:
        tasks.enqueue(tasks.NOTIFY_WAITLIST, showtime_id)
    return len(showtimes)
