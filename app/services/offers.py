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
from app.services.seats import adjacency, facts, holds, rules, seat_rules
from app.services.seats.adjacency import Hall
from app.services.seats.keys import clustered, events_channel
from app.services.uow import after_commit

log = logging.getLogger(__name__)

TRIES_PER_OFFER = 3  # blocks tried for one user before the next in line


def offer_ttl_ms() -> int:
    config = current_app.config
    return min(int(config["WAITLIST_OFFER_S"]), int(config["HOLD_MAX_LIFETIME_S"])) * 1000


def _active(showtime_id: int, user_id: int | None = None, *, skip_locked: bool = True) -> list[WaitlistOffer]:
    stmt = sa.select(WaitlistOffer).where(WaitlistOffer.showtime_id == showtime_id,
                                          WaitlistOffer.state == OfferState.ACTIVE)
    if user_id is not None:
        stmt = stmt.where(WaitlistOffer.user_id == user_id)
    return list(db.session.scalars(stmt.with_for_update(skip_locked=skip_locked)))


def lapse_due(showtime_id: int) -> list[WaitlistOffer]:
    """End the showtime's offers that were not bought in time or whose seats (any of them) the user gave up;
    their users lose their place on the list (seats they still hold stay theirs until the hold lapses)."""
    active = _active(showtime_id)
    if not active:
        return []
    held = holds.held_by(showtime_id, [s for offer in active for s in offer.seat_labels])
    now, lapsed = utcnow(), []
    for offer in active:
        if offer.expires_at <= now or not all(held.get(s) == str(offer.user_id) for s in offer.seat_labels):
            offer.state = OfferState.LAPSED
            db.session.execute(sa.delete(WaitlistEntry).where(WaitlistEntry.showtime_id == showtime_id,
                                                              WaitlistEntry.user_id == offer.user_id))
            lapsed.append(offer)
    db.session.flush()
    if lapsed:
        log.info("waitlist offers of showtime %s lapsed: %s", showtime_id, [o.id for o in lapsed])
    return lapsed


def make_offers(showtime_id: int, limit: int = 200, taken: list[tuple[str, list[str]]] | None = None
                ) -> list[WaitlistOffer]:
    """Offer the seats free right now to the waiting users in queue order, each a block of the count they
    want, while any seat is free; returns the offers made. `taken` collects (user id, seats) of every hold
    taken, for the caller to release should its transaction not commit (release_holds)."""
    taken = [] if taken is None else taken
    lapse_due(showtime_id)
    showtime = db.session.get(Showtime, showtime_id)
    if showtime is None or rules.off_sale(showtime.id, showtime.status, showtime.starts_at) is not None:
        return []
    room = db.session.get(WaitingRoom, showtime_id)
    if room is not None and room.enabled:
        return []
    # one active offer per user, whatever the showtime: a waiting list is no way to hold seats for longer
    offered = set(db.session.scalars(sa.select(WaitlistOffer.user_id).where(WaitlistOffer.state == OfferState.ACTIVE)
                                     .join(WaitlistEntry, sa.and_(WaitlistEntry.user_id == WaitlistOffer.user_id,
                                                                  WaitlistEntry.showtime_id == showtime_id))))
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
        offer = _offer(showtime_id, entry, rows, hall, taken)
        if offer is not None:
            made.append(offer)
    return made


def _offer(showtime_id: int, entry: WaitlistEntry, rows: facts.ShowtimeRows, hall: Hall,
           taken: list[tuple[str, list[str]]]) -> WaitlistOffer | None:
    uid = str(entry.user_id)
    # seats this user holds already, as many as they want: a run that died after holding them and before
    # its commit left them so; they become the offer (held again for the offer's time) rather than a second block
    mine = sorted((s for s, holder in hall.holders.items() if holder == uid), key=adjacency.split)
    candidates = [mine] if len(mine) == entry.seats else []
    candidates += seat_rules.ranked_blocks(rows, hall, entry.seats)[:TRIES_PER_OFFER]
    for block in candidates:
        try:
            held = holds.lock(showtime_id, uid, block, ttl_ms=offer_ttl_ms())
        except AppError as exc:  # taken meanwhile, or the user's own caps: the next block, or the next user
            log.info("waitlist offer of %s to user %s refused: %s", block, entry.user_id, exc.code)
            if exc.code == "seat_taken":
                hall.taken.update(block)
            continue
        if block is not mine:
            taken.append((uid, list(held.seat_ids)))
        offer = WaitlistOffer(showtime_id=showtime_id, user_id=entry.user_id, seat_labels=held.seat_ids,
                              expires_at=held.expires_at, state=OfferState.ACTIVE)
        db.session.add(offer)
        entry.notified_at = utcnow()
        db.session.flush()
        hall.taken.update(block)
        hall.holders.update(dict.fromkeys(block, uid))
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


def release_holds(showtime_id: int, made: list[tuple[str, list[str]]]) -> None:
    """Give back the holds a run of make_offers took when its transaction did not commit (logged, not raised)."""
    for uid, labels in made:
        try:
            holds.release(showtime_id, uid, labels, check_seats=False)
        except Exception as exc:  # noqa: BLE001  (they lapse by themselves within the offer's time)
            log.warning("waitlist offer holds %s of user %s not released (%s)", labels, uid, exc)


def end(user_id: int, showtime_id: int, state: OfferState) -> None:
    """The user booked the showtime (BOOKED) or left its list (WITHDRAWN: the offered seats they still
    hold are released once this commits)."""
    given_back: list[str] = []
    for offer in _active(showtime_id, user_id, skip_locked=False):  # waits for a run that holds the row
        offer.state = state
        if state is OfferState.WITHDRAWN:
            given_back += offer.seat_labels
    db.session.flush()
    if given_back:
        uid = str(user_id)

        def give_back() -> None:  # only what is still theirs (a seat let go may be someone else's by now)
            still = [s for s, holder in holds.held_by(showtime_id, given_back).items() if holder == uid]
            if still:
                holds.release(showtime_id, uid, still)

        after_commit(give_back)


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


def claim_mail(offer_id: int) -> bool:
    """Take the offer's mail for this run (whether it was still to send): two runs never both send it."""
    claimed = db.session.execute(sa.update(WaitlistOffer).where(WaitlistOffer.id == offer_id,
                                                                WaitlistOffer.mailed_at.is_(None))
                                 .values(mailed_at=utcnow()).returning(WaitlistOffer.id)).first()
    return claimed is not None


def unclaim_mail(offer_id: int) -> None:
    """The mail could not be sent: a retry sends it."""
    db.session.execute(sa.update(WaitlistOffer).where(WaitlistOffer.id == offer_id).values(mailed_at=None))
