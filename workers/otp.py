"""Sign-up code delivery, off the request path."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from app.services import otp, tasks
from app.services.mail import MailError, send_mail

log = logging.getLogger(__name__)

MAX_RETRIES = 3


@shared_task(bind=True, name=tasks.SEND_OTP_EMAIL, max_retries=MAX_RETRIES, acks_late=True)
def send_otp_email(self, address: str, issue_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Create the code for address and mail it; idempotent per issue_id, retried on mail errors.

    The task carries no code: it is made here and stored only as a hash, so the broker never sees it.
    A retry makes a new code (the previous one was never delivered).
    """
    code = otp.issue_code(address, issue_id)
    if code is None:
        log.info("code %s already delivered; redelivery ignored", issue_id)
        return False
    minutes = max(1, int(current_app.config["OTP_TTL_S"]) // 60)
    text = (
        f"Your CineVerse code is {code}\n\n"
        f"It expires in {minutes} minutes and works once. If you did not ask for it, ignore this email.\n"
    )
    try:
        send_mail(address, "Your CineVerse code", text)
    except MailError as exc:
        countdown = min(60, 5 * 2**self.request.retries)
        log.warning("code %s not delivered (attempt %s), retrying in %ss: %s",
                    issue_id, self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    otp.mark_delivered(issue_id)
    return True
