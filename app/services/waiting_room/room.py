"""A showtime's waiting room: settings (staff), the queue (buyers), admissions and the gate.

Settings live in the `waiting_rooms` table; the scripts read them from the seat facts' `#room` copy
(facts.py fills and invalidates it like every other fact of the showtime, so there is one truth). The
queue lives in Redis (keys.py, scripts.py): one entry per account, places from one sorted set, so two
arrivals never share a position and nobody is skipped. Before `sales_open_at` arrivals get a random
place (the pre-queue is therefore shuffled, uniformly, ahead of everyone who comes later); after it,
arrival order. Admission keeps at most `active_limit` buyers holding an unexpired pass; a place is given
back when its buyer buys (orders.confirm_payment), leaves, or the pass expires, and the next in line is
admitted in the same script (buy, leave) or by the beat task (expiry, the opening: workers.waiting_room).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis
from flask import current_app

from app import metrics
from app.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationError
from app.extensions import db, get_redis
from app.models import Showtime, ShowtimeStatus, User, WaitingRoom
from app.models._types import utcnow
from app.services.audit import audit
from app.services.seats import facts, lock_script
from app.services.seats import scripts as seat_scripts
from app.services.seats.keys import clustered, events_channel, global_gen_key, room_index_key, room_key
from app.services.uow import after_commit
from app.services.waiting_room import passes
from app.services.waiting_room import scripts as room_scripts

log = logging.getLogger(__name__)

DEFAULTS = {"enabled": False, "active_limit": 200, "sales_open_at": None, "pass_ttl_s": 600}
_PRE_QUEUE_PLACES = 1 << 48  # the scripts' boundary between shuffled and first-come places


def _iso(ms: int | float) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)


# ---- staff: settings ------------------------------------------------------------------------------

def _showtime(showtime_id: int) -> Showtime:
    showtime = db.session.get(Showtime, showtime_id)
    if showtime is None:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    return showtime


def settings(showtime_id: int) -> dict[str, Any]:
    """The room's settings (the defaults when staff never set it up) and what it holds now."""
    _showtime(showtime_id)
    row = db.session.get(WaitingRoom, showtime_id)
    body: dict[str, Any] = {"showtime_id": showtime_id, **DEFAULTS}
    if row is not None:
        body.update(enabled=row.enabled, active_limit=row.active_limit, sales_open_at=row.sales_open_at,
                    pass_ttl_s=row.pass_ttl_s, updated_at=row.updated_at)
    body.update(occupancy(showtime_id))
    return body


def occupancy(showtime_id: int) -> dict[str, int | None]:
    """How many wait and how many hold a pass now (None for both when Redis does not answer)."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.zcard(room_key(showtime_id, "queue"))
        pipe.zcount(room_key(showtime_id, "active"), int(utcnow().timestamp() * 1000) + 1, "+inf")
        waiting, active = pipe.execute()
        return {"waiting": int(waiting), "active": int(active)}
    except redis.RedisError:
        return {"waiting": None, "active": None}


def occupancy_of_rooms(limit: int = 200) -> list[tuple[int, int, int]]:
    """(showtime id, waiting, active) of every room in use (the room index), for the metrics."""
    client = get_redis()
    members: list[str] = client.zrange(room_index_key(), 0, limit - 1)  # type: ignore[assignment]
    showtime_ids = [int(s) for s in members]
    pipe = client.pipeline(transaction=False)
    now = int(utcnow().timestamp() * 1000)
    for showtime_id in showtime_ids:
        pipe.zcard(room_key(showtime_id, "queue"))
        pipe.zcount(room_key(showtime_id, "active"), now + 1, "+inf")
    counts = pipe.execute() if showtime_ids else []
    return [(sid, int(counts[2 * i]), int(counts[2 * i + 1])) for i, sid in enumerate(showtime_ids)]


def configure(actor: User, showtime_id: int, data: dict[str, Any]) -> WaitingRoom:
    """Set up the room (every field of DEFAULTS given); audited. Raises NotFound, Conflict
    `showtime_cancelled`, ValidationError `sales_open_after_start`."""
    showtime = db.session.get(Showtime, showtime_id, with_for_update=True)
    if showtime is None:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    if showtime.status != ShowtimeStatus.SCHEDULED:
        raise Conflict("A cancelled showtime has no sale to open.", code="showtime_cancelled")
    opens = data.get("sales_open_at")
    if opens is not None and opens >= showtime.starts_at:
        raise ValidationError("The sale must open before the showtime starts.", code="sales_open_after_start",
                              details={"starts_at": showtime.starts_at.isoformat()})
    row = db.session.get(WaitingRoom, showtime_id)
    created = row is None
    if row is None:
        row = WaitingRoom(showtime_id=showtime_id, **DEFAULTS)
        db.session.add(row)
    changes: dict[str, Any] = {}
    for field in DEFAULTS:
        old, new = (None if created else getattr(row, field)), data[field]
        if created or old != new:
            changes[field] = [old, new]
            setattr(row, field, new)
    db.session.flush()  # facts.py sees the row and invalidates the showtime's facts after the commit
    audit(actor, "waiting_room.update", "showtime", showtime_id, changes)
    after_commit(lambda: _tick_quietly(showtime_id))  # a larger limit or an earlier opening admits now
    return row


# ---- buyers: the queue ----------------------------------------------------------------------------

@dataclass
class QueueState:
    state: str  # admitted, waiting, pre_queue
    body: dict[str, Any]


def _keys(showtime_id: int) -> list[str]:
    return [room_key(showtime_id, "settings"), room_key(showtime_id, "gen"), global_gen_key(showtime_id),
            *(room_key(showtime_id, part) for part in ("queue", "active", "joined", "seq", "recent")),
            room_index_key(showtime_id)]




def fill_settings(showtime_id: int, expected_gen: str, client: redis.Redis | None = None) -> bool:
    """Copy the room's row into Redis for its scripts (the copy's generation: when `expected_gen` was
    read, before this database read; a change announced since refuses the copy). Raises NotFound."""
    _showtime(showtime_id)
    row = db.session.get(WaitingRoom, showtime_id)
    settings = facts.room_facts(row.enabled, row.active_limit, row.sales_open_at, row.pass_ttl_s) if row else ""
    keys = [room_key(showtime_id, "settings"), room_key(showtime_id, "gen"), global_gen_key(showtime_id)]
    # as short-lived as the seat facts: a lost announcement of a change outlives neither copy for long
    ttl_ms = int(current_app.config["SEAT_CACHE_TTL_S"]) * 1000
    return bool(seat_scripts.run("room_settings_fill", keys, [expected_gen, ttl_ms, settings], client))


def _run(name: str, showtime_id: int, uid: str, *extra: Any, client: redis.Redis | None = None) -> list[Any]:
    """Run a room script, copying the settings from the database first when Redis has none current."""
    args = [uid, showtime_id, events_channel(showtime_id), *extra]
    for _attempt in range(3):
        result = seat_scripts.run(name, _keys(showtime_id), args, client)
        if result[0] != -2:
            _count_admissions(result[2], result[3])
            if clustered():
                _mirror_index(showtime_id, client)
            return list(result)
        fill_settings(showtime_id, str(result[1]), client)  # NotFound for an unknown showtime
    raise ServiceUnavailable("The waiting room is being updated; try again.", code="server_busy",
                             headers={"Retry-After": "1"})


def _mirror_index(showtime_id: int, client: redis.Redis | None) -> None:
    """On a cluster the scripts keep the room's due time in its own slot: the beat task's index follows."""
    redis_client = client or get_redis()
    due = redis_client.zscore(room_index_key(showtime_id), str(showtime_id))
    if due is None:
        redis_client.zrem(room_index_key(), str(showtime_id))
    else:
        redis_client.zadd(room_index_key(), {str(showtime_id): due})


def _count_admissions(now_ms: int, admitted: list[Any]) -> None:
    for i in range(0, len(admitted), 3):
        metrics.QUEUE_ADMISSIONS.inc()
        metrics.QUEUE_WAIT.observe(max(0, int(now_ms) - int(admitted[i + 2])) / 1000)


def _room_off(showtime_id: int) -> Conflict:
    return Conflict("This showtime has no waiting room; hold seats directly.", code="waiting_room_off",
                    details={"showtime_id": showtime_id})


def _state(showtime_id: int, uid: str, result: list[Any]) -> QueueState | None:
    code = int(result[0])
    if code == room_scripts.ROOM_OFF:
        raise _room_off(showtime_id)
    if code == room_scripts.UNREADABLE:
        raise ServiceUnavailable("The waiting room's settings cannot be read; try again shortly.",
                                 code="server_busy", headers={"Retry-After": "5"})
    if code == room_scripts.ADMITTED:
        expires = int(result[1])
        return QueueState("admitted", {"state": "admitted", "pass": passes.sign_pass(showtime_id, uid, expires),
                                       "pass_expires_at": _iso(expires)})
    if code == room_scripts.NOT_IN_ROOM:
        return None
    place = int(float(result[4]))
    ticket = passes.sign_ticket(showtime_id, uid, max(0, place - _PRE_QUEUE_PLACES))  # 0: a secret pre-queue place
    if code == room_scripts.PRE_QUEUE:
        return QueueState("pre_queue", {"state": "pre_queue", "opens_at": _iso(result[1]), "ticket": ticket})
    position = int(result[1])
    wait = estimated_wait(position, int(result[5]), int(result[2]) - int(result[6]), int(result[7]), int(result[8]))
    return QueueState("waiting", {"state": "waiting", "position": position, "ticket": ticket, "estimated_wait_s": wait})


def estimated_wait(position: int, recent: int, window_ms: int, limit: int, ttl_ms: int) -> int:
    """Seconds until `position` is admitted at the pace of the last five minutes' admissions; without a
    pace yet, the worst case: every place ahead kept for a whole pass."""
    if recent >= 2 and window_ms >= 1000:
        return math.ceil(position / (recent / (window_ms / 1000)))
    return math.ceil(position / max(limit, 1)) * (ttl_ms // 1000)


def join(showtime_id: int, user_id: str) -> QueueState:
    """Join (or find again: one entry per account) the room's queue. Raises NotFound, Conflict
    `waiting_room_off`."""
    uid = _uid(user_id)
    result = _run("room_visit", showtime_id, uid, "1", passes.pre_queue_place(showtime_id, uid))
    state = _state(showtime_id, uid, result)
    assert state is not None  # the visit that joins always leaves the caller in the room
    return state


def status(showtime_id: int, user_id: str) -> QueueState:
    """The caller's place. Raises NotFound `not_in_queue` when they are not in the room."""
    uid = _uid(user_id)
    state = _state(showtime_id, uid, _run("room_visit", showtime_id, uid, "0", 0))
    if state is None:
        raise NotFound("You are not in this showtime's waiting room; join it first.", code="not_in_queue")
    return state


def leave(showtime_id: int, user_id: str) -> bool:
    """Leave the queue or give the admission back; the next in line is admitted. Idempotent."""
    return int(_run("room_leave", showtime_id, _uid(user_id), "0")[0]) == 1


def bought(showtime_id: int, user_id: int | str) -> None:
    """After a booking commits: the buyer's admission goes to the next in line (a place they queued for
    again meanwhile stays). Never raises (the booking stands; the pass then simply expires)."""
    try:
        _run("room_leave", showtime_id, _uid(user_id), "1")
    except (redis.RedisError, NotFound, ServiceUnavailable) as exc:
        log.warning("showtime %s: user %s's admission not given back after a purchase (%s)", showtime_id, user_id, exc)


def tick(showtime_id: int, client: redis.Redis | None = None) -> int:
    """One admission run (expired passes free their places; at the opening the pre-queue goes in)."""
    return len(_run("room_tick", showtime_id, "", client=client)[3]) // 3


def _tick_quietly(showtime_id: int) -> None:
    try:
        tick(showtime_id)
    except (redis.RedisError, NotFound, ServiceUnavailable) as exc:
        log.warning("showtime %s: admission run failed (%s); the beat task retries", showtime_id, exc)


def due_showtimes(limit: int = 100, client: redis.Redis | None = None) -> list[int]:
    """Rooms whose next admission run is due (an opening, an expired pass)."""
    now = int(utcnow().timestamp() * 1000)
    due: list[str] = (client or get_redis()).zrangebyscore(  # type: ignore[assignment]
        room_index_key(), "-inf", now, start=0, num=limit)
    return [int(s) for s in due]


def forget(showtime_id: int, client: redis.Redis | None = None) -> None:
    """Take a room out of the beat task's index (its showtime is gone)."""
    (client or get_redis()).zrem(room_index_key(), showtime_id)


def _uid(user_id: int | str) -> str:
    uid = str(user_id)
    if not uid.isdigit():
        raise ValueError("user ids are numbers")
    return uid


# ---- the gate: holding seats and ordering need a pass while the room is enabled ---------------------

def not_open(showtime_id: int, opens_ms: int | float) -> Forbidden:
    opens = _iso(opens_ms)
    return Forbidden(f"Sales for this showtime open at {opens.isoformat()}.", code="sales_not_open",
                     details={"showtime_id": showtime_id, "opens_at": opens.isoformat()})


def pass_required(showtime_id: int, user_id: str, token: str | None) -> Forbidden:
    """The refusal of a request without a valid pass, saying why (missing, not valid here, ended)."""
    if not token:
        reason, text = "missing", "This sale has a waiting room: join the queue to get a pass."
    elif not passes.pass_expiry(token, showtime_id, user_id):
        reason, text = "invalid", "This queue pass is not valid for you and this showtime."
    else:
        reason, text = "ended", "Your queue pass has expired or was used; join the queue again."
    return Forbidden(text, code="queue_pass_required", details={"showtime_id": showtime_id, "reason": reason,
                                                                "header": "X-Queue-Pass"})


def refusal(showtime_id: int, user_id: str, token: str | None, result: list[Any]) -> Forbidden | None:
    """The error for a gate refusal a script answered (ROOM_PASS_REQUIRED, ROOM_NOT_OPEN), else None."""
    if result[0] == lock_script.ROOM_NOT_OPEN:
        return not_open(showtime_id, result[1])
    if result[0] == lock_script.ROOM_PASS_REQUIRED:
        return pass_required(showtime_id, user_id, token)
    return None


def check_in_database(showtime_id: int, user_id: str, token: str | None, client: redis.Redis | None = None) -> None:
    """The gate from the database's row, for when the facts copy cannot be had (a lock's rare race)."""
    row = db.session.get(WaitingRoom, showtime_id)
    if row is None:
        return
    now = utcnow()
    if row.sales_open_at is not None and row.sales_open_at > now:
        raise not_open(showtime_id, row.sales_open_at.timestamp() * 1000)
    if row.enabled:
        expiry = passes.pass_expiry(token, showtime_id, user_id)
        score = (client or get_redis()).zscore(room_key(showtime_id, "active"), user_id) if expiry else None
        if not expiry or score is None or int(score) != int(expiry) or int(expiry) <= now.timestamp() * 1000:
            raise pass_required(showtime_id, user_id, token)


def require_pass(showtime_id: int, user_id: int | str, token: str | None, client: redis.Redis | None = None) -> None:
    """Extend and create-order: refuse without a valid pass while the room is enabled, and before the
    opening. One Redis round trip (the seat facts' copy of the settings)."""
    uid = str(user_id)
    keys = [room_key(showtime_id, "settings"), room_key(showtime_id, "gen"), global_gen_key(showtime_id),
            room_key(showtime_id, "active")]
    args = [uid, passes.pass_expiry(token, showtime_id, uid)]
    result = seat_scripts.run("room_gate", keys, args, client)
    if result[0] == -2 and fill_settings(showtime_id, str(result[1]), client):
        result = seat_scripts.run("room_gate", keys, args, client)
    if result[0] == -2:
        check_in_database(showtime_id, uid, token, client)
        return
    error = refusal(showtime_id, uid, token, result)
    if error is not None:
        raise error


def public_summary(showtime_id: int) -> dict[str, Any]:
    """What a buyer's page needs before anything else: is there a room, when does the sale open."""
    row = db.session.get(WaitingRoom, showtime_id)
    return {"waiting_room": bool(row and row.enabled), "sales_open_at": row.sales_open_at if row else None}
