"""Waiting-list offers: hold the seats that came free for the earliest waiting users whose count fits,
and mail them."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from celery import shared_task
from flask import current_app

from app.extensions import db
from app.services import offers, tasks, waitlist
from app.services.mail import MailError, send_mail
from app.services.uow import transaction

log = logging.getLogger(__name__)

MAX_RETRIES = 3


def _text(mail: offers.Mail, showtime_id: int) -> str:
    zone = ZoneInfo(current_app.config["APP_TIMEZONE"])
    when, until = mail.starts_at.astimezone(zone), mail.expires_at.astimezone(zone)
    seats = ", ".join(mail.seats)
    return (
        f"Hello {mail.name},\n\n"
        f"Seats came free for {mail.movie_title} on {when:%a %d %b %Y at %H:%M}, and we are holding "
        f"{'it' if len(mail.seats) == 1 else 'them'} for you: {seats}.\n\n"
        f"Buy them before {until:%H:%M} ({until:%d %b}); after that they go to the next person waiting.\n\n"
        f"{current_app.config['PUBLIC_BASE_URL']}/showtimes/{showtime_id}\n\n"
        "You are on the waiting list because you joined it; leaving it from your account gives the seats back.\n"
    )


@shared_task(bind=True, name=tasks.NOTIFY_WAITLIST, max_retries=MAX_RETRIES, acks_late=True)
def notify_waitlist(self, showtime_id: int) -> int:  # type: ignore[no-untyped-def]
    """Offer the free seats to the waiting users whose count fits (app.services.offers), then mail every
    offer not mailed yet; idempotent (a held seat is not free again, an offer is mailed once), retried on
    mail errors for the offers still unmailed. Returns the mails sent."""
    taken: list[tuple[str, list[str]]] = []
    try:
        with transaction():
            made = offers.make_offers(showtime_id, taken=taken)
    except Exception:
        offers.release_holds(showtime_id, taken)  # no offer rows: no holds either
        raise
    if made:
        log.info("waitlist of showtime %s: %s offers made", showtime_id, len(made))
    failed: MailError | None = None
    sent = 0
    for mail in offers.unmailed(showtime_id):
        with transaction():
            if not offers.claim_mail(mail.offer_id):
                continue  # another run sends this one
        try:
            send_mail(mail.email, f"Seats held for you: {mail.movie_title}", _text(mail, showtime_id))
        except MailError as exc:
            with transaction():
                offers.unclaim_mail(mail.offer_id)
            failed = exc
            break
        sent += 1
    db.session.remove()
    if failed is not None:
        countdown = min(120, 10 * 2**self.request.retries)
        log.warning("waitlist of showtime %s: mail failed (attempt %s), retrying in %ss: %s", showtime_id,
                    self.request.retries + 1, countdown, failed)
        raise self.retry(exc=failed, countdown=countdown)
    return sent


@shared_task(name=tasks.SWEEP_WAITLISTS)
def sweep_waitlists() -> int:
    """Queue an offer run for every showtime someone waits for. The hooks (lapsed holds, failed or
    expired orders, cancellations) tell the waiting list at once; this catches what frees seats without
    a hook (a buyer's own unlock, kept off that hot path, or staff unblocking seats) and ends the offers
    that lapsed. A run with no free seats offers nothing."""
    showtimes = waitlist.waiting_showtimes()
    for showtime_id in showtimes:
        tasks.enqueue(tasks.NOTIFY_WAITLIST, showtime_id)
    return len(showtimes)
