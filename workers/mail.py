"""The buyer's mails about a booking (app.services.booking_mail), each sent once: the confirmation with the
ticket and a calendar event once the PDF is rendered, the reminder before the show (a beat task), and the
refund notice once the gateway has refunded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task, shared_task

from app.services import booking_mail, tasks
from app.services.mail import MailError, send_mail
from app.services.uow import transaction

log = logging.getLogger(__name__)

MAX_RETRIES = 5


def send_once(kind: str, row_id: int, build: Callable[[int], booking_mail.Mail | None]) -> bool:
    """Build the mail, claim its mark and send it; False when there is nothing to send or it went already.
    Raises MailError (the mark given back) when the SMTP server refuses."""
    with transaction():
        mail = build(row_id)
        if mail is None or not booking_mail.claim(kind, row_id):
            return False
    try:
        send_mail(mail.to, mail.subject, mail.text, html=mail.html, attachments=mail.attachments,
                  message_id=f"{kind}.{row_id}")
    except MailError:
        with transaction():
            booking_mail.unclaim(kind, row_id)
        raise
    log.info("%s mail sent for %s", kind, row_id)
    return True


def _retrying(task: Task, kind: str, row_id: int, build: Callable[[int], booking_mail.Mail | None]) -> bool:
    try:
        return send_once(kind, row_id, build)
    except MailError as exc:
        countdown = min(600, 30 * 2**task.request.retries)
        log.warning("%s mail for %s failed (attempt %s), retrying in %ss: %s", kind, row_id,
                    task.request.retries + 1, countdown, exc)
        raise task.retry(exc=exc, countdown=countdown) from exc


@shared_task(bind=True, name=tasks.SEND_CONFIRMATION, max_retries=MAX_RETRIES, acks_late=True)
def send_confirmation(self, booking_id: int) -> bool:  # type: ignore[no-untyped-def]
    return _retrying(self, "confirmation", booking_id, booking_mail.confirmation)


@shared_task(bind=True, name=tasks.SEND_REFUND_NOTICE, max_retries=MAX_RETRIES, acks_late=True)
def send_refund_notice(self, refund_id: int) -> bool:  # type: ignore[no-untyped-def]
    return _retrying(self, "refund", refund_id, booking_mail.refund_notice)


@shared_task(name=tasks.SEND_REMINDERS)
def send_reminders() -> int:
    """Remind the bookings whose show is near; a refusing SMTP server stops this run (the next one retries)."""
    with transaction():
        due = booking_mail.due_reminders()
    sent = 0
    for booking_id in due:
        try:
            sent += send_once("reminder", booking_id, booking_mail.reminder)
        except MailError as exc:
            log.warning("reminders stopped after %s of %s: %s", sent, len(due), exc)
            break
    return sent
