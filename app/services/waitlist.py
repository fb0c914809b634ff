"""The waiting list of a showtime, and who gets the seats that become free again.

Seats come free when a booking is cancelled or refunded, an order fails or expires, or holds lapse;
those paths call `seats_freed`, which queues `workers.waitlist.notify_waitlist` once per showtime after
the commit (and the beat's sweep catches what frees seats without a hook). The task offers the free seats
to the earliest waiting users whose count fits, holding a block for each (app.services.offers), and mails
them. A user who books the showtime leaves its list.

Functions here only flush; the caller commits.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import OfferState, Showtime, WaitlistEntry
from app.services import offers, paging, tasks
from app.services.catalogue import sellable_showtime
from app.services.seats import expiry, rules
from app.services.uow import after_commit, transaction

log = logging.getLogger(__name__)

_QUEUED = "cineverse_waitlist_queued"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def join(user_id: int, showtime_id: int, seats: int) -> tuple[WaitlistEntry, bool]:
    """Put user_id on the list wanting `seats` seats, or update the count (keeping the place in the
    queue); returns (entry, created). Raises NotFound, Conflict `showtime_cancelled` /
    `showtime_started`, ValidationError for more seats than MAX_SEATS_PER_BOOKING."""
    limit = int(current_app.config["MAX_SEATS_PER_BOOKING"])
    if not 1 <= seats <= limit:
        raise ValidationError(f"Ask for 1 to {limit} seats.", details={"fields": {"seats": f"1 to {limit}"}})
    sellable_showtime(showtime_id)
    stmt = sa.select(WaitlistEntry).where(WaitlistEntry.showtime_id == showtime_id,
                                          WaitlistEntry.user_id == user_id).with_for_update()
    entry = db.session.scalar(stmt)
    created = False
    if entry is None:
        entry = WaitlistEntry(showtime_id=showtime_id, user_id=user_id, seats=seats)
        try:
            with db.session.begin_nested():
                db.session.add(entry)
                db.session.flush()
            created = True
        except IntegrityError:  # the same user joined twice at once: the other request's row stands
            entry = db.session.scalar(stmt)
            assert entry is not None
    if entry.seats != seats:
        entry.seats = seats
        db.session.flush()
    log.info("waitlist showtime=%s user=%s seats=%s %s", showtime_id, user_id, seats,
             "joined" if created else "updated")
    return entry, created


def leave(user_id: int, showtime_id: int) -> None:
    """Take user_id off the list, ending an offer of theirs (its seats are released). Raises NotFound
    `waitlist_entry_not_found`."""
    offers.end(user_id, showtime_id, OfferState.WITHDRAWN)
    deleted = db.session.execute(
        sa.delete(WaitlistEntry).where(WaitlistEntry.showtime_id == showtime_id, WaitlistEntry.user_id == user_id)
        .returning(WaitlistEntry.id)
    ).first()
    if deleted is None:
        raise NotFound("You are not on this showtime's waiting list.", code="waitlist_entry_not_found")


def my_entries(user_id: int, page: int, per_page: int) -> tuple[list[WaitlistEntry], int]:
    stmt = (sa.select(WaitlistEntry).where(WaitlistEntry.user_id == user_id)
            .options(joinedload(WaitlistEntry.showtime).joinedload(Showtime.movie)))
    return paging.paged(stmt, (WaitlistEntry.created_at.desc(), WaitlistEntry.id.desc()), page, per_page)


def seats_freed(showtime_id: int) -> None:
    """Seats of showtime_id may be free again: once this transaction commits, tell the waiting list
    (queued once per showtime per transaction)."""
    queued: set[int] = db.session.info.setdefault(_QUEUED, set())
    if showtime_id in queued:
        return
    queued.add(showtime_id)

    def enqueue() -> None:
        db.session.info.get(_QUEUED, set()).discard(showtime_id)
        tasks.enqueue(tasks.NOTIFY_WAITLIST, showtime_id)

    after_commit(enqueue)


# ---------------------------------------------------------------- offers (the worker's side)


def waiting_showtimes(limit: int = 200) -> list[int]:
    """Upcoming scheduled showtimes with someone waiting, the longest-waiting first (their runs make
    offers of any free seats and end the offers that lapsed)."""
    rows = db.session.execute(
        sa.select(WaitlistEntry.showtime_id)
        .join(Showtime, Showtime.id == WaitlistEntry.showtime_id)
        .where(*rules.on_sale_clauses())
        .group_by(WaitlistEntry.showtime_id)
        .order_by(sa.func.min(WaitlistEntry.created_at)).limit(limit)
    ).scalars()
    return list(rows)


def booked(user_id: int, showtime_id: int) -> None:
    """user_id bought seats of showtime_id: they no longer wait for it, and an offer of theirs is done."""
    offers.end(user_id, showtime_id, OfferState.BOOKED)
    db.session.execute(sa.delete(WaitlistEntry).where(WaitlistEntry.showtime_id == showtime_id,
                                                      WaitlistEntry.user_id == user_id))


@expiry.on_holds_lapsed
def notify_on_lapse(lapsed: expiry.Lapsed) -> None:
    """Lapsed holds free their seats: the waiting list may hear of them (its own unit of work)."""
    if lapsed.released:
        with transaction():
            seats_freed(lapsed.showtime_id)
