"""Waiting-list offers: when seats come free, the first waiting user whose count fits gets a block of them
held for WAITLIST_OFFER_S, shown as held to everyone else, announced by mail and on their open seat page,
and bought through the normal checkout (the offer is an ordinary hold of theirs).

- A seat is in one offer at most: the offer is a hold in the lock store, and a seat has one holder. The
  block is one best-available would choose (app.services.seats.seat_rules), so it never strands a seat.
- An offer ends when the user books the showtime (`booked`), leaves the list (`withdrawn`: the seats are
  released), or lapses: not bought by its expiry, or its seats given up (`lapsed`: the user's place on the
  list goes, and the seats pass to the next in line on the same run).
- No offers while the showtime's waiting room is on (its holds need a queue pass) or once it is off sale.

`make_offers` runs in the waiting list's worker (workers.waitlist) and only flushes; the caller commits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.errors import AppError
from app.extensions import db, get_redis
from app.models import OfferState, Showtime, User, WaitingRoom, WaitlistEntry, WaitlistOffer
from app.models._types import utcnow
from app.services.seats import facts, holds, rules, seat_rules
from app.services.seats.adjacency import Hall
from app.services.seats.keys import clustered, events_channel
from app.services.uow import after_commit

log = logging.getLogger(__name__)

TRIES_PER_OFFER = 3  # blocks tried for one user before the next in line


def offer_ttl_ms() -> int:
    config = current_app.config
    return min(int(config["WAITLIST_OFFER_S"]), int(config["HOLD_MAX_LIFETIME_S"])) * 1000


def _active(showtime_id: int, user_id: int | None = None) -> list[WaitlistOffer]:
    stmt = sa.select(WaitlistOffer).where(WaitlistOffer.showtime_id == showtime_id,
                                          WaitlistOffer.state == OfferState.ACTIVE)
    if user_id is not None:
        stmt = stmt.where(WaitlistOffer.user_id == user_id)
    return list(db.session.scalars(stmt.with_for_update(skip_locked=True)))


def lapse_due(showtime_id: int) -> list[WaitlistOffer]:
    """End the showtime's offers that were not bought in time or whose seats the user gave up; their users
    lose their place on the list."""
    active = _active(showtime_id)
    if not active:
        return []
    held = holds.held_by(showtime_id, [s for offer in active for s in offer.seat_labels])
    now, lapsed = utcnow(), []
    for offer in active:
        if offer.expires_at <= now or not any(held.get(s) == str(offer.user_id) for s in offer.seat_labels):
            offer.state = OfferState.LAPSED
            db.session.execute(sa.delete(WaitlistEntry).where(WaitlistEntry.showtime_id == showtime_id,
                                                              WaitlistEntry.user_id == offer.user_id))
            lapsed.append(offer)
    db.session.flush()
    if lapsed:
        log.info("waitlist offers of showtime %s lapsed: %s", showtime_id, [o.id for o in lapsed])
    return lapsed


def make_offers(showtime_id: int, limit: int = 200) -> list[WaitlistOffer]:
    """Offer the seats free right now to the waiting users in queue order, each a block of the count they
    want, while any seat is free; returns the offers made."""
    lapse_due(showtime_id)
    showtime = db.session.get(Showtime, showtime_id)
    if showtime is None or rules.off_sale(showtime.id, showtime.status, showtime.starts_at) is not None:
        return []
    room = db.session.get(WaitingRoom, showtime_id)
    if room is not None and room.enabled:
        return []
    offered = {o.user_id for o in db.session.scalars(sa.select(WaitlistOffer).where(
        WaitlistOffer.showtime_id == showtime_id, WaitlistOffer.state == OfferState.ACTIVE))}
    entries = db.session.scalars(
        sa.select(WaitlistEntry).join(User, User.id == WaitlistEntry.user_id)
        .where(WaitlistEntry.showtime_id == showtime_id, User.is_active.is_(True))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(limit)
        .with_for_update(of=WaitlistEntry, skip_locked=True)).all()
    rows = facts.read_showtime(showtime_id)
    hall = rows.hall(holders=holds.held_by(showtime_id))
    made: list[WaitlistOffer] = []
    for entry in entries:
        if not hall.seats - hall.taken:
            break
        if entry.user_id in offered:
            continue
        offer = _offer(showtime_id, entry, rows, hall)
        if offer is not None:
            made.append(offer)
    return made


def _offer(showtime_id: int, entry: WaitlistEntry, rows: facts.ShowtimeRows, hall: Hall
           ) -> WaitlistOffer | None:
    for block in seat_rules.ranked_blocks(rows, hall, entry.seats)[:TRIES_PER_OFFER]:
        try:
            held = holds.lock(showtime_id, str(entry.user_id), block, ttl_ms=offer_ttl_ms())
        except AppError as exc:  # taken meanwhile, or the user's own caps: the next block, or the next user
            log.info("waitlist offer of %s to user %s refused: %s", block, entry.user_id, exc.code)
            if exc.code == "seat_taken":
                hall.taken.update(block)
            continue
        offer = WaitlistOffer(showtime_id=showtime_id, user_id=entry.user_id, seat_labels=held.seat_ids,
                              expires_at=held.expires_at, state=OfferState.ACTIVE)
        db.session.add(offer)
        entry.notified_at = utcnow()
        db.session.flush()
        hall.taken.update(block)
        hall.holders.update(dict.fromkeys(block, str(entry.user_id)))
        _announce_after_commit(offer)
        return offer
    return None


def _announce_after_commit(offer: WaitlistOffer) -> None:
    """Tell the user's open seat pages (only theirs: app.realtime.hub delivers `offer` by viewer)."""
    message = json.dumps({"type": "offer", "showtime_id": offer.showtime_id, "user_id": str(offer.user_id),
                          "seat_ids": list(offer.seat_labels), "expires_at": offer.expires_at.isoformat()},
                         separators=(",", ":"))
    channel = events_channel(offer.showtime_id)

    def publish() -> None:
        client = get_redis()
        client.execute_command("SPUBLISH" if clustered() else "PUBLISH", channel, message)

    after_commit(publish)


def end(user_id: int, showtime_id: int, state: OfferState) -> None:
    """The user booked the showtime (BOOKED) or left its list (WITHDRAWN: the offered seats they still
    hold are released once this commits)."""
    given_back: list[str] = []
    for offer in _active(showtime_id, user_id):
        offer.state = state
        if state is OfferState.WITHDRAWN:
            given_back += offer.seat_labels
    db.session.flush()
    if given_back:
        after_commit(lambda: holds.release(showtime_id, str(user_id), given_back))


@dataclass
class Mail:
    offer_id: int
    email: str
    name: str
    movie_title: str
    starts_at: datetime
    seats: list[str]
    expires_at: datetime


def unmailed(showtime_id: int) -> list[Mail]:
    """The showtime's active offers whose mail has not gone out yet."""
    rows = db.session.execute(
        sa.select(WaitlistOffer, User.email, User.name).join(User, User.id == WaitlistOffer.user_id)
        .where(WaitlistOffer.showtime_id == showtime_id, WaitlistOffer.state == OfferState.ACTIVE,
               WaitlistOffer.mailed_at.is_(None)).order_by(WaitlistOffer.id)).all()
    showtime = db.session.get(Showtime, showtime_id)
    if showtime is None:
        return []
    return [Mail(o.id, email, name, showtime.movie.title, showtime.starts_at, list(o.seat_labels), o.expires_at)
            for o, email, name in rows]


def mark_mailed(offer_id: int) -> None:
    db.session.execute(sa.update(WaitlistOffer).where(WaitlistOffer.id == offer_id).values(mailed_at=utcnow()))
