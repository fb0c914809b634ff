"""Seat holds: short-lived Redis locks on the seats of a showtime, taken all-or-nothing.

A hold is the fast path; the database (ShowtimeSeat.state plus the conditional update made at booking
time) stays the truth. Every change runs as one Lua script so that a request costs one Redis round trip
and the change, its version number and its pub/sub event are one atomic step.

The Redis keys are named in keys.py, the scripts in scripts.py, the lock's copy of the seat facts in
facts.py and the expiry sweep in expiry.py.

Nobody keeps a seat for ever by renewing it. A user's first lock of a seat sets its deadline, first
lock + HOLD_MAX_LIFETIME_S, and no lock, extension or order of theirs holds the seat past it (the TTL is
clamped in the script). The deadline outlives a release: it is kept until HOLD_RELOCK_COOLDOWN_S after
it, so releasing and locking again does not reset it, and from the deadline until then that user cannot
hold that seat at all (Conflict `hold_deadline_reached`, details.retry_at), so at the deadline the seat
goes to whoever takes it first. Only that seat and that user: a buyer who let some seats go picks others
(each with its own deadline), and everyone else may take the seat at once. HOLD_MAX_SEATS_PER_USER caps
the seats a user holds across showtimes, so the cap per showtime cannot be multiplied.

Redis Cluster: a showtime's keys share its hash tag, but P:user-holds:U (one user, every showtime) and
the token guard keys of app.services.auth live in other slots; the lock, release and extend scripts
name them, so a cluster deployment needs that counter moved out of the scripts first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app

from app.appctx import this_app
from app.errors import AppError, Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db, get_redis
from app.metrics import SEAT_HOLDS_RELEASED
from app.models._types import UTCDateTime
from app.models.seating import SEAT_LABEL
from app.services.seats import cluster, facts, rules, scripts, seat_rules
from app.services.seats.keys import (
    clustered,
    deadline_key,
    events_channel,
    expiry_key,
    hold_key,
    index_key,
    renewals_key,
    room_key,
    showtime_prefix,
    user_holds_key,
    user_key,
    version_key,
)
from app.services.seats.scripts import EVENT_TYPES
from app.services.waiting_room import passes, room

log = logging.getLogger(__name__)


# ---- results --------------------------------------------------------------------------------------

def _iso(ms: int | float) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)


@dataclass
class HoldResult:
    """What a lock or an extension left in place: the seats asked for and all the caller's holds."""

    showtime_id: int
    seat_ids: list[str]
    expires_at: datetime
    holds: list[dict[str, Any]]
    version: int | None = None


@dataclass
class SeatHold:
    seat_id: str
    holder_id: str | None
    ttl_ms: int | None
    expires_at: datetime | None

    @property
    def held(self) -> bool:
        return self.holder_id is not None


def _my_holds(pairs: list[Any]) -> list[dict[str, Any]]:
    return [{"seat_id": pairs[i], "expires_at": _iso(float(pairs[i + 1]))} for i in range(0, len(pairs), 2)]


# ---- validation against the database ------------------------------------------------------------

def normalize_labels(seat_ids: Iterable[str]) -> list[str]:
    """De-duplicated labels in the order given. Raises ValidationError for malformed ones."""
    labels = list(dict.fromkeys(seat_ids))
    bad = [s for s in labels if not isinstance(s, str) or not SEAT_LABEL.match(s)]
    if bad:
        raise ValidationError("Seat ids look like A1 .. L18.", code="invalid_seat_ids",
                              details={"seat_ids": bad})
    if not labels:
        raise ValidationError("Name at least one seat.", code="invalid_seat_ids", details={"seat_ids": []})
    return labels


# One statement, compiled once: the showtime's status and start, and the state of each named seat
# (a Core text query: the ORM's per-row work would double the cost of a lock request).
_SEATS_SQL = sa.text(
    "SELECT s.status, s.starts_at, ss.label, ss.state FROM showtimes s "
    "LEFT JOIN showtime_seats ss ON ss.showtime_id = s.id AND ss.label IN :labels WHERE s.id = :showtime_id"
).bindparams(sa.bindparam("labels", expanding=True)).columns(
    sa.column("status", sa.String), sa.column("starts_at", UTCDateTime()), sa.column("label", sa.String),
    sa.column("state", sa.String),
)


def _load_seats(showtime_id: int, labels: list[str], *, for_lock: bool) -> dict[str, str]:
    """label -> seat state from one query. Raises NotFound (unknown showtime), ValidationError
    `unknown_seats` naming them, and for a lock Conflict `showtime_cancelled` / `showtime_started`."""
    rows = db.session.execute(_SEATS_SQL, {"labels": labels or [""], "showtime_id": showtime_id}).all()
    if not rows:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    status, starts_at = rows[0][0], rows[0][1]
    states = {row[2]: row[3] for row in rows if row[2] is not None}
    unknown = [s for s in labels if s not in states]
    if unknown:
        raise ValidationError(f"Unknown seats for showtime {showtime_id}: {', '.join(unknown)}.",
                              code="unknown_seats", details={"seat_ids": unknown})
    if for_lock and (refusal := rules.off_sale(showtime_id, status, starts_at)) is not None:
        raise refusal
    return states


def _seat_taken(showtime_id: int, taken: list[str], reason: dict[str, list[str]]) -> Conflict:
    return Conflict(f"These seats are not available: {', '.join(taken)}.", code="seat_taken",
                    details={"showtime_id": showtime_id, "seat_ids": taken, **reason})


def _deadline_reached(showtime_id: int, seats: list[str], retry_at_ms: Any) -> Conflict:
    return Conflict(f"You have held these seats as long as one may: {', '.join(seats)}. Other seats can be "
                    "held now, these again later.", code="hold_deadline_reached",
                    details={"showtime_id": showtime_id, "seat_ids": seats, "retry_at": _iso(retry_at_ms).isoformat()})


def _lifetime_args() -> list[int]:
    """The lifetime and cooldown of a seat's deadline (ms), as the lock and extend scripts take them."""
    config = this_app().config
    return [int(config["HOLD_MAX_LIFETIME_S"]) * 1000, int(config["HOLD_RELOCK_COOLDOWN_S"]) * 1000]


# ---- the service --------------------------------------------------------------------------------

def lock(showtime_id: int, user_id: str | int, seat_ids: Iterable[str], *, ttl_ms: int | None = None,
         guard: Sequence[str] = (), queue_pass: str | None = None, client: redis.Redis | None = None) -> HoldResult:
    """Hold every named seat for user_id, or none of them; re-locking one's own seat renews it, up to
    the seat's deadline (HOLD_MAX_LIFETIME_S after the user first locked it; see the module docstring).

    `guard` (two keys that must not exist, a key that must exist) is checked in the same Lua step, before
    anything else. Raises GuardRefused, NotFound, ValidationError (malformed/unknown seats), Conflict
    `seat_taken` (booked, blocked or held by someone else: details.seat_ids), Conflict
    `hold_deadline_reached` (details.seat_ids, details.retry_at), Conflict `seat_limit_exceeded` (this
    showtime) and `hold_limit_exceeded` (all showtimes, HOLD_MAX_SEATS_PER_USER), Conflict for a
    cancelled or started showtime, Forbidden `sales_not_open` / `queue_pass_required` (the showtime's
    waiting room: `queue_pass` is the X-Queue-Pass header), and redis errors (503 `redis_unavailable`: a
    lock never fails open).
    """
    uid = str(user_id)
    labels = normalize_labels(seat_ids)
    config = this_app().config
    maximum = int(config["MAX_SEATS_PER_BOOKING"])
    if len(labels) > maximum:
        raise ValidationError(f"At most {maximum} seats can be held at once.", code="too_many_seats",
                              details={"max": maximum})
    ttl = int(ttl_ms or config["SEAT_LOCK_TTL_MS"])
    total = int(config["HOLD_MAX_SEATS_PER_USER"])
    keys = [user_key(showtime_id, uid), expiry_key(showtime_id), index_key(showtime_id), version_key(showtime_id),
            facts.hash_key(showtime_id), facts.gen_key(showtime_id), facts.global_gen_key(showtime_id),
            deadline_key(showtime_id, uid), user_holds_key(uid, showtime_id), room_key(showtime_id, "active")]
    keys += [hold_key(showtime_id, s) for s in labels]
    args: list[Any] = [uid, ttl, maximum, showtime_id, events_channel(showtime_id), "1", *_lifetime_args(), total,
                       passes.pass_expiry(queue_pass, showtime_id, uid), *labels]
    # The seat facts (exist, sellable, showtime scheduled and not started) are checked in the same
    # script against seatcache's copy of the database; a missing or outdated copy is reloaded first.
    result = scripts.run_guarded("lock", keys, args, guard, client)
    if result[0] == -2:
        if facts.fill(showtime_id, str(result[1]), client):
            result = scripts.run_guarded("lock", keys, args, guard, client)
        if result[0] == -2:  # the seats changed while we read them: ask the database this once
            states = _load_seats(showtime_id, labels, for_lock=True)
            room.check_in_database(showtime_id, uid, queue_pass, client)
            unsellable = [s for s in labels if not rules.seat_sellable(states[s])]
            if unsellable:
                raise _seat_taken(showtime_id, unsellable, {"booked": unsellable})
            seat_rules.check_in_database(showtime_id, uid, labels, lambda: held_by(showtime_id, client=client))
            args[5] = "0"
            result = scripts.run_guarded("lock", keys, args, guard, client)
    if (refusal := room.refusal(showtime_id, uid, queue_pass, result)) is not None:
        raise refusal
    if result[0] == -3:
        unknown = list(result[1])
        raise ValidationError(f"Unknown seats for showtime {showtime_id}: {', '.join(unknown)}.",
                              code="unknown_seats", details={"seat_ids": unknown})
    if result[0] == -4:
        raise rules.cancelled(showtime_id)
    if result[0] == -5:
        raise rules.started(showtime_id)
    if result[0] == -6:
        raise _seat_taken(showtime_id, list(result[1]), {"booked": list(result[1])})
    if result[0] == 0:
        raise _seat_taken(showtime_id, list(result[1]), {"held": list(result[1])})
    if result[0] in seat_rules.REFUSALS:
        raise seat_rules.refusal(showtime_id, uid, labels, int(result[0]), list(result[1]),
                                 lambda: held_by(showtime_id, client=client))
    if result[0] == -9:
        raise _deadline_reached(showtime_id, list(result[1]), result[2])
    if result[0] == -1:
        raise Conflict(f"You can hold at most {maximum} seats of a showtime (you hold {result[1]}).",
                       code="seat_limit_exceeded", details={"max": maximum, "held": int(result[1])})
    if result[0] == -10:
        raise Conflict(f"You can hold at most {total} seats across all showtimes (you hold {result[1]}).",
                       code="hold_limit_exceeded", details={"max": total, "held": int(result[1])})
    if clustered() and (over := cluster.after_lock(showtime_id, uid, result, total, client)) is not None:
        release(showtime_id, uid, over[0], check_seats=False, client=client)  # what this lock took
        raise Conflict(f"You can hold at most {total} seats across all showtimes (you hold {over[1]}).",
                       code="hold_limit_exceeded", details={"max": total, "held": over[1]})
    log.debug("seats held showtime=%s user=%s seats=%s", showtime_id, uid, ",".join(labels))
    return HoldResult(showtime_id, labels, _iso(result[1]), _my_holds(result[4]), int(result[3]))


def release(showtime_id: int, user_id: str | int, seat_ids: Iterable[str], *, event: str = "seat_released",
            check_seats: bool = True, guard: Sequence[str] = (), client: redis.Redis | None = None) -> list[str]:
    """Release the caller's holds on the named seats; returns the seats actually released.

    Seats held by nobody are skipped (releasing is idempotent). `event="seat_booked"` lets the booking
    service release the holds it has just sold and announce them as booked in the same step.
    `guard` works as in lock() (GuardRefused, nothing released).
    Raises Forbidden `not_holder` (nothing released) if any seat is held by someone else; when some seat
    was not held, NotFound / ValidationError `unknown_seats` for an unknown showtime or seats. The
    database is only read in that case: a seat someone held exists, so the usual release is one round trip.
    """
    if event not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event!r}")
    uid = str(user_id)
    labels = normalize_labels(seat_ids)
    keys = [user_key(showtime_id, uid), expiry_key(showtime_id), version_key(showtime_id),
            user_holds_key(uid, showtime_id)]
    keys += [hold_key(showtime_id, s) for s in labels]
    args = [uid, showtime_id, events_channel(showtime_id), event, *labels]
    result = scripts.run_guarded("release", keys, args, guard, client)
    if clustered() and result[0] != 0 and result[1]:
        cluster.after_release(showtime_id, uid, list(result[1]), client)
    if result[0] == 0:
        raise Forbidden("Only the holder can release these seats.", code="not_holder",
                        details={"showtime_id": showtime_id, "seat_ids": list(result[1])})
    released = list(result[1])
    SEAT_HOLDS_RELEASED.labels(event).inc(len(released))
    if check_seats and len(released) < len(labels):
        _load_seats(showtime_id, labels, for_lock=False)
    log.debug("seats released showtime=%s user=%s seats=%s", showtime_id, uid, ",".join(released))
    return released


def _count_renewal(showtime_id: int, uid: str, ttl: int, client: redis.Redis | None) -> None:
    """Allow HOLD_MAX_RENEWALS renewals per user and showtime within a hold's lifetime, so nobody
    keeps seats away from everyone else by renewing forever."""
    maximum = int(current_app.config["HOLD_MAX_RENEWALS"])
    key = renewals_key(showtime_id, uid)
    pipe = (client or get_redis()).pipeline()
    pipe.incr(key)
    pipe.pexpire(key, ttl * (maximum + 1))
    used = int(pipe.execute()[0])
    if used > maximum:
        raise Conflict(f"Holds can be renewed at most {maximum} times; release and lock the seats again.",
                       code="renewal_limit_reached", details={"showtime_id": showtime_id, "max": maximum})


def extend(showtime_id: int, user_id: str | int, seat_ids: Iterable[str], *, ttl_ms: int | None = None,
           limit_renewals: bool = False, client: redis.Redis | None = None) -> HoldResult:
    """Renew the caller's holds on the named seats to at least a full TTL from now (all of them or none),
    but never past a seat's deadline (the module docstring); a hold that already runs longer (an order's
    payment window) is never shortened. `expires_at` tells how far it went.

    `limit_renewals` counts this renewal against HOLD_MAX_RENEWALS (the public route does; an order
    covering its payment window does not). Raises Forbidden `not_holder` for seats held by someone
    else, Conflict `hold_expired` for seats held by nobody (details.seat_ids names them either way),
    Conflict `renewal_limit_reached`, Conflict `hold_deadline_reached`, NotFound / ValidationError
    `unknown_seats` when the showtime or a seat does not exist (checked in the database only when the
    extension fails).
    """
    uid = str(user_id)
    labels = normalize_labels(seat_ids)
    ttl = int(ttl_ms or current_app.config["SEAT_LOCK_TTL_MS"])
    if limit_renewals:
        _count_renewal(showtime_id, uid, ttl, client)
    keys = [user_key(showtime_id, uid), expiry_key(showtime_id), deadline_key(showtime_id, uid),
            user_holds_key(uid, showtime_id)]
    keys += [hold_key(showtime_id, s) for s in labels]
    result = scripts.run("extend", keys, [uid, ttl, showtime_id, *_lifetime_args(), *labels], client)
    if clustered() and result[0] == 1:
        cluster.after_extend(showtime_id, uid, result[3], client)
    if result[0] == -9:
        raise _deadline_reached(showtime_id, list(result[1]), result[2])
    if result[0] == 0:
        others, missing = list(result[1]), list(result[2])
        if missing:
            _load_seats(showtime_id, labels, for_lock=False)
        if others:
            raise Forbidden("Only the holder can extend these holds.", code="not_holder",
                            details={"showtime_id": showtime_id, "seat_ids": others})
        raise Conflict("These holds have expired; lock the seats again.", code="hold_expired",
                       details={"showtime_id": showtime_id, "seat_ids": missing})
    return HoldResult(showtime_id, labels, _iso(result[1]), _my_holds(result[3]))


def inspect(showtime_id: int, seat_ids: Iterable[str] | None = None,
            client: redis.Redis | None = None) -> list[SeatHold]:
    """Holder and remaining TTL of the named seats (every held seat when none is named)."""
    if seat_ids is None:
        _load_seats(showtime_id, [], for_lock=False)
        _version, now, holds = _snapshot(showtime_id, client)
        return [SeatHold(label, uid, ttl, _iso(now + ttl)) for label, (uid, ttl) in sorted(holds.items())]
    labels = normalize_labels(seat_ids)
    _load_seats(showtime_id, labels, for_lock=False)
    keys = [version_key(showtime_id)] + [hold_key(showtime_id, s) for s in labels]
    out = scripts.run("inspect", keys, [], client)
    now = int(out[1])
    seats = []
    for i, label in enumerate(labels):
        holder, ttl = out[2 + 2 * i], int(out[3 + 2 * i])
        if holder and ttl > 0:
            seats.append(SeatHold(label, holder, ttl, _iso(now + ttl)))
        else:
            seats.append(SeatHold(label, None, None, None))
    return seats


def _snapshot(showtime_id: int, client: redis.Redis | None = None) -> tuple[int, int, dict[str, tuple[str, int]]]:
    out = scripts.run("snapshot", [version_key(showtime_id), expiry_key(showtime_id)],
               [f"{showtime_prefix(showtime_id)}hold:"], client)
    holds = {out[i]: (out[i + 1], int(out[i + 2])) for i in range(2, len(out), 3) if int(out[i + 2]) > 0}
    return int(out[0]), int(out[1]), holds


def snapshot(showtime_id: int, client: redis.Redis | None = None) -> tuple[int, dict[str, str]]:
    """The showtime's current event version and every live hold (label -> holder), read atomically."""
    version, _now, holds = _snapshot(showtime_id, client)
    return version, {label: uid for label, (uid, _ttl) in holds.items()}


def held_by(showtime_id: int, seat_ids: Iterable[str] | None = None,
            client: redis.Redis | None = None) -> dict[str, str]:
    """label -> holder id for the named seats that are held (every held seat when none is named)."""
    if seat_ids is None:
        return snapshot(showtime_id, client)[1]
    labels = normalize_labels(seat_ids)
    keys = [version_key(showtime_id)] + [hold_key(showtime_id, s) for s in labels]
    out = scripts.run("inspect", keys, [], client)
    return {label: out[2 + 2 * i] for i, label in enumerate(labels) if out[2 + 2 * i] and int(out[3 + 2 * i]) > 0}


def assert_held(showtime_id: int, user_id: str | int, seat_ids: Iterable[str],
                client: redis.Redis | None = None) -> None:
    """Raise Conflict `hold_expired` (details.seat_ids) unless user_id holds every named seat right now."""
    uid = str(user_id)
    labels = normalize_labels(seat_ids)
    holders = held_by(showtime_id, labels, client)
    missing = [s for s in labels if holders.get(s) != uid]
    if missing:
        raise Conflict("You no longer hold these seats; lock them again.", code="hold_expired",
                       details={"showtime_id": showtime_id, "seat_ids": missing})


def publish(showtime_id: int, event: str, seat_ids: Iterable[str], client: redis.Redis | None = None) -> int:
    """Publish one versioned seat event (e.g. `seat_booked` after a booking commits); returns its version."""
    if event not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event!r}")
    labels = normalize_labels(seat_ids)
    args = [events_channel(showtime_id), event, showtime_id, *labels]
    return int(scripts.run("event", [version_key(showtime_id)], args, client))


# What announcing seats after a commit may run into; the commit stands and clients re-sync.
ANNOUNCE_ERRORS = (redis.exceptions.RedisError, AppError)


def publish_quietly(showtime_id: int, event: str, labels: list[str]) -> None:
    """publish(), after a commit that stands whatever happens: a failure is logged, clients re-sync."""
    try:
        publish(showtime_id, event, labels)
    except ANNOUNCE_ERRORS as exc:
        log.warning("showtime %s: %s not announced (%s)", showtime_id, event, exc)
