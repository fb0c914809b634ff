"""The waiting list of a showtime, and who to tell when seats become free again.

Seats come free when a booking is cancelled or refunded, an order fails or expires, or holds lapse;
those paths call `seats_freed`, which queues `workers.waitlist.notify_waitlist` once per showtime after
the commit. The task tells the earliest waiting users whose wanted count fits the seats free right
now (available in the database and not held in Redis), one after the other while seats remain, and
marks them notified; nobody is told twice about a showtime within WAITLIST_NOTIFY_COOLDOWN_S, and
the seats announced within that time count as spoken for, so a run never announces more seats than are
free. A notice is not a reservation: whoever locks the seats first gets them. A user who books the
showtime leaves its list.

Functions here only flush; the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.errors import NotFound, ValidationError
from app.extensions import db, get_redis
from app.models import Showtime, ShowtimeSeat, User, WaitlistEntry
from app.services import paging, tasks
from app.services.catalogue import sellable_showtime
from app.services.seats import expiry, rules
from app.services.seats.keys import expiry_key
from app.services.uow import after_commit, transaction

log = logging.getLogger(__name__)

DEFAULT_COOLDOWN_S = 3600
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
    """Take user_id off the list. Raises NotFound `waitlist_entry_not_found`."""
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


# ---------------------------------------------------------------- notices (the worker's side)


@dataclass
class Notice:
    entry: WaitlistEntry
    email: str
    name: str
    movie_title: str
    starts_at: datetime


def free_seats(showtime_id: int) -> int:
    """Seats for sale right now: available in the database, less those held in Redis."""

    available = db.session.scalar(sa.select(sa.func.count()).select_from(ShowtimeSeat).where(
        ShowtimeSeat.showtime_id == showtime_id, rules.sellable_seat_clause())) or 0
    client = get_redis()
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    held = int(client.zcount(expiry_key(showtime_id), f"({now_ms}", "+inf"))
    return max(0, available - held)


def due_notices(showtime_id: int, limit: int = 500) -> list[Notice]:
    """The earliest waiting users (not told within the cooldown) whose count fits the free seats, taken
    in queue order while seats remain; their rows stay locked (SKIP LOCKED for a concurrent run)."""
    showtime = db.session.get(Showtime, showtime_id)
    if showtime is None or rules.off_sale(showtime.id, showtime.status, showtime.starts_at) is not None:
        return []
    cooldown = int(current_app.config.get("WAITLIST_NOTIFY_COOLDOWN_S", DEFAULT_COOLDOWN_S))
    cutoff = _now() - timedelta(seconds=cooldown)
    # Seats already announced within the cooldown are spoken for: never announce more seats than are free.
    announced = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(WaitlistEntry.seats), 0)).where(
        WaitlistEntry.showtime_id == showtime_id, WaitlistEntry.notified_at >= cutoff)) or 0
    free = free_seats(showtime_id) - int(announced)
    if free <= 0:
        return []
    rows = db.session.execute(
        sa.select(WaitlistEntry, User.email, User.name)
        .join(User, User.id == WaitlistEntry.user_id)
        .where(WaitlistEntry.showtime_id == showtime_id, User.is_active.is_(True), WaitlistEntry.seats <= free,
               sa.or_(WaitlistEntry.notified_at.is_(None), WaitlistEntry.notified_at < cutoff))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(limit)
        .with_for_update(of=WaitlistEntry, skip_locked=True)
    ).all()
    notices = []
    for entry, email, name in rows:
        if entry.seats > free:
            continue  # wants more than is left after those ahead: a later release may fit
        free -= entry.seats
        notices.append(Notice(entry, email, name, showtime.movie.title, showtime.starts_at))
        if free == 0:
            break
    return notices


def waiting_showtimes(limit: int = 200) -> list[int]:
    """Upcoming scheduled showtimes with someone waiting who was not told within the cooldown, the
    longest-waiting first."""
    cooldown = int(current_app.config.get("WAITLIST_NOTIFY_COOLDOWN_S", DEFAULT_COOLDOWN_S))
    cutoff = _now() - timedelta(seconds=cooldown)
    rows = db.session.execute(
        sa.select(WaitlistEntry.showtime_id)
        .join(Showtime, Showtime.id == WaitlistEntry.showtime_id)
        .where(*rules.on_sale_clauses(),
               sa.or_(WaitlistEntry.notified_at.is_(None), WaitlistEntry.notified_at < cutoff))
        .group_by(WaitlistEntry.showtime_id)
        .order_by(sa.func.min(WaitlistEntry.created_at)).limit(limit)
    ).scalars()
    return list(rows)


def mark_notified(entry: WaitlistEntry) -> None:
    entry.notified_at = _now()
    db.session.flush()


def booked(user_id: int, showtime_id: int) -> None:
    """user_id bought seats of showtime_id: they no longer wait for it."""
    db.session.execute(sa.delete(WaitlistEntry).where(WaitlistEntry.showtime_id == showtime_id,
                                                      WaitlistEntry.user_id == user_id))


@expiry.on_holds_lapsed
def notify_on_lapse(lapsed: expiry.Lapsed) -> None:
    """Lapsed holds free their seats: the waiting list may hear of them (its own unit of work)."""
    if lapsed.released:
        with transaction():
            seats_freed(lapsed.showtime_id)
