"""Seat holds: short-lived Redis locks on the seats of a showtime, taken all-or-nothing.

A hold is the fast path; the database (ShowtimeSeat.state plus the conditional update made at booking
time) stays the truth. Every change runs as one Lua script so that a request costs one Redis round trip
and the change, its version number and its pub/sub event are one atomic step.

Keys (P = SEAT_LOCK_PREFIX; `{st:N}` is a Redis Cluster hash tag keeping a showtime's keys together):
  P:{st:N}:hold:A1    holder user id, with a PX expiry of SEAT_LOCK_TTL_MS
  P:{st:N}:user:U     sorted set: the seats user U holds, scored by expiry (ms) -> per-user limit
  P:{st:N}:deadline:U sorted set: the seats user U held lately, scored by their hold deadline (ms)
  P:{st:N}:expiry     sorted set: "label|user" scored by expiry (ms) -> swept by workers.holds
  P:{st:N}:version    INCR counter; every published event carries the next value
  P:hold-index        sorted set: showtime id scored no later than its earliest expiry
  P:user-holds:U      sorted set: "showtime|label" of every seat U holds, scored by expiry -> the
                      cross-showtime cap (HOLD_MAX_SEATS_PER_USER)
  P:events            the pub/sub channel of seat events for every showtime

The expiry sweep never misses a lapse (an entry leaves `expiry` only when its key is gone, or when its
holder released it) and never releases a renewed hold (it checks the key's current holder and TTL, and a
renewal rewrites the entry's score). The index is kept at or below each showtime's earliest expiry:
locks lower it with ZADD LT, extensions only raise expiries, and the sweep recomputes it.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app
from redis.commands.core import Script

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db, get_redis
from app.metrics import SEAT_HOLDS_RELEASED
from app.models import SeatState, ShowtimeStatus
from app.models._types import UTCDateTime
from app.models.seating import SEAT_LABEL
from app.services import seatcache

log = logging.getLogger(__name__)


# Builds and publishes one versioned event. Labels are checked against SEAT_LABEL before they reach a
# script, so joining them into JSON needs no escaping.
_LUA_PUBLISH = """
local function publish(version_key, channel, event_type, showtime_id, labels)
  if #labels == 0 then return 0 end
  local version = redis.call('INCR', version_key)
  local ids = '"' .. table.concat(labels, '","') .. '"'
  redis.call('PUBLISH', channel, '{"type":"' .. event_type .. '","showtime_id":' .. showtime_id ..
    ',"seat_ids":[' .. ids .. '],"version":' .. version .. '}')
  return version
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: user zset, expiry zset, hold index, version, seats hash, showtime seats-gen, global seats-gen,
#       deadline zset, user-holds zset (all showtimes), seat keys...
# ARGV: user, ttl_ms, max seats, showtime id, channel, check the seat facts ("1"/"0"), lifetime ms,
#       cooldown ms, max seats across showtimes, labels...
# With the check, the seat facts come from app.services.seatcache's hash: {-2, gen} when it is missing
# or out of date (the caller reloads it), else the database's refusals in the database's order:
# {-3, unknown seats}, {-4} cancelled, {-5} started, {-6, booked or blocked seats}. Then {0, taken},
# {-9, seats past their deadline, when they may be held again (ms)}, {-1, held here}, {-10, held in all}.
_LUA_LOCK = _LUA_PUBLISH + seatcache.LUA_GEN + """
local uid, ttl, max_seats, sid, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local lifetime, cooldown, max_total = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local K, A = 9, 9  -- seat keys and labels start after these
local n = #KEYS - K
local now = now_ms()
if ARGV[6] == '1' then
  local gen = seat_gen(KEYS[7], KEYS[6])
  local meta = redis.call('HMGET', KEYS[5], '#gen', '#status', '#starts')
  if meta[1] ~= gen then return {-2, gen} end
  local unknown, unsellable = {}, {}
  for i = 1, n do
    local state = redis.call('HGET', KEYS[5], ARGV[A + i])
    if not state then
      unknown[#unknown + 1] = ARGV[A + i]
    elseif state ~= '@AVAILABLE@' then
      unsellable[#unsellable + 1] = ARGV[A + i]
    end
  end
  if #unknown > 0 then return {-3, unknown} end
  if meta[2] ~= '@SCHEDULED@' then return {-4} end
  if tonumber(meta[3]) <= now then return {-5} end
  if #unsellable > 0 then return {-6, unsellable} end
end
local taken, fresh = {}, 0
for i = 1, n do
  local holder = redis.call('GET', KEYS[K + i])
  if holder and holder ~= uid then
    taken[#taken + 1] = ARGV[A + i]
  elseif not holder then
    fresh = fresh + 1
  end
end
if #taken > 0 then return {0, taken} end
-- a deadline is forgotten only a cooldown after it passed; until then it stands, released or not
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - cooldown)
local deadlines, spent, retry, last = {}, {}, 0, 0
for i = 1, n do
  local d = tonumber(redis.call('ZSCORE', KEYS[8], ARGV[A + i]) or (now + lifetime))
  if d <= now then
    spent[#spent + 1] = ARGV[A + i]
    if d + cooldown > retry then retry = d + cooldown end
  end
  if d > last then last = d end
  deadlines[i] = d
end
if #spent > 0 then return {-9, spent, retry} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local current = redis.call('ZCARD', KEYS[1])
if current + fresh > max_seats then return {-1, current} end
redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now)
local total = redis.call('ZCARD', KEYS[9])
if total + fresh > max_total then return {-10, total} end
local expires, latest = nil, 0
local labels = {}
for i = 1, n do
  local label = ARGV[A + i]
  -- a seat still held here is the caller's own (others' were refused above): re-locking renews it but
  -- never shortens it (an order may have stretched it over its payment window), nor passes its deadline
  local keep = redis.call('PTTL', KEYS[K + i])
  if keep < ttl then keep = ttl end
  if now + keep > deadlines[i] then keep = deadlines[i] - now end
  if expires == nil or now + keep < expires then expires = now + keep end
  if keep > latest then latest = keep end
  redis.call('SET', KEYS[K + i], uid, 'PX', keep)
  redis.call('ZADD', KEYS[1], now + keep, label)
  redis.call('ZADD', KEYS[2], now + keep, label .. '|' .. uid)
  redis.call('ZADD', KEYS[8], 'NX', deadlines[i], label)
  redis.call('ZADD', KEYS[9], now + keep, sid .. '|' .. label)
  labels[#labels + 1] = label
end
if redis.call('PTTL', KEYS[1]) < latest then redis.call('PEXPIRE', KEYS[1], latest) end
if redis.call('PTTL', KEYS[9]) < latest then redis.call('PEXPIRE', KEYS[9], latest) end
if redis.call('PTTL', KEYS[8]) < last + cooldown - now then redis.call('PEXPIRE', KEYS[8], last + cooldown - now) end
redis.call('ZADD', KEYS[3], 'LT', expires, sid)
local version = publish(KEYS[4], channel, 'seat_locked', sid, labels)
return {1, expires, now, version, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
""".replace("@AVAILABLE@", SeatState.AVAILABLE.value).replace("@SCHEDULED@", ShowtimeStatus.SCHEDULED.value)

# KEYS: user zset, expiry zset, version, user-holds zset, seat keys...
# ARGV: user, showtime id, channel, event type, labels...
# Refuses everything when any seat is held by someone else; seats held by nobody are skipped. The seats'
# deadlines stay (see the module docstring).
_LUA_RELEASE = _LUA_PUBLISH + """
local uid, sid, channel, event_type = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = #KEYS - 4
local others, mine = {}, {}
for i = 1, n do
  local holder = redis.call('GET', KEYS[4 + i])
  if holder and holder ~= uid then
    others[#others + 1] = ARGV[4 + i]
  elseif holder then
    mine[#mine + 1] = i
  end
end
if #others > 0 then return {0, others} end
local released = {}
for _, i in ipairs(mine) do
  local label = ARGV[4 + i]
  redis.call('DEL', KEYS[4 + i])
  redis.call('ZREM', KEYS[1], label)
  redis.call('ZREM', KEYS[2], label .. '|' .. uid)
  redis.call('ZREM', KEYS[4], sid .. '|' .. label)
  released[#released + 1] = label
end
local version = publish(KEYS[3], channel, event_type, sid, released)
return {1, released, version}
"""

# KEYS: user zset, expiry zset, deadline zset, user-holds zset, seat keys...
# ARGV: user, ttl_ms, showtime id, lifetime ms, cooldown ms, labels...   (all seats or none)
# {0, others' seats, seats held by nobody}, {-9, seats past their deadline, retry at (ms)}, else {1, ...}.
_LUA_EXTEND = _LUA_PUBLISH + """
local uid, ttl, sid = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local lifetime, cooldown = tonumber(ARGV[4]), tonumber(ARGV[5])
local K, A = 4, 5
local n = #KEYS - K
local others, missing = {}, {}
for i = 1, n do
  local holder = redis.call('GET', KEYS[K + i])
  if not holder then
    missing[#missing + 1] = ARGV[A + i]
  elseif holder ~= uid then
    others[#others + 1] = ARGV[A + i]
  end
end
if #others > 0 or #missing > 0 then return {0, others, missing} end
local now = now_ms()
local deadlines, spent, retry = {}, {}, 0
for i = 1, n do
  local d = redis.call('ZSCORE', KEYS[3], ARGV[A + i])
  if not d then
    -- a hold taken before deadlines existed (or whose record was lost): its deadline starts now
    d = now + lifetime
    redis.call('ZADD', KEYS[3], d, ARGV[A + i])
    if redis.call('PTTL', KEYS[3]) < lifetime + cooldown then redis.call('PEXPIRE', KEYS[3], lifetime + cooldown) end
  end
  d = tonumber(d)
  if d <= now then
    spent[#spent + 1] = ARGV[A + i]
    if d + cooldown > retry then retry = d + cooldown end
  end
  deadlines[i] = d
end
if #spent > 0 then return {-9, spent, retry} end
-- an extension never shortens a hold (an order may have stretched it over its payment window), so
-- expiry scores only grow and the showtime index, which may point early, never points late; nor does it
-- pass the seat's deadline
local earliest, latest = nil, now + ttl
for i = 1, n do
  local label = ARGV[A + i]
  local want = ttl
  if now + want > deadlines[i] then want = deadlines[i] - now end
  local left = redis.call('PTTL', KEYS[K + i])
  if left < want then
    redis.call('PEXPIRE', KEYS[K + i], want)
    left = want
  end
  local expires = now + left
  if earliest == nil or expires < earliest then earliest = expires end
  if expires > latest then latest = expires end
  redis.call('ZADD', KEYS[1], expires, label)
  redis.call('ZADD', KEYS[2], expires, label .. '|' .. uid)
  redis.call('ZADD', KEYS[4], expires, sid .. '|' .. label)
end
if redis.call('PTTL', KEYS[1]) < latest - now then redis.call('PEXPIRE', KEYS[1], latest - now) end
if redis.call('PTTL', KEYS[4]) < latest - now then redis.call('PEXPIRE', KEYS[4], latest - now) end
return {1, earliest, now, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
"""

# KEYS: version, seat keys...   ARGV: none. Holder and TTL of the given seats, with the current version.
_LUA_INSPECT = _LUA_PUBLISH + """
local out = {redis.call('GET', KEYS[1]) or '0', now_ms()}
for i = 2, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i]) or ''
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out
"""

# KEYS: version, expiry zset   ARGV: hold key prefix ("P:{st:N}:hold:")
# Every live hold of a showtime with the current version, read in one atomic step (WebSocket snapshots).
_LUA_SNAPSHOT = _LUA_PUBLISH + """
local out = {redis.call('GET', KEYS[1]) or '0', now_ms()}
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local bar = string.find(member, '|', 1, true)
  local label, uid = string.sub(member, 1, bar - 1), string.sub(member, bar + 1)
  local key = ARGV[1] .. label
  if redis.call('GET', key) == uid then
    out[#out + 1] = label
    out[#out + 1] = uid
    out[#out + 1] = redis.call('PTTL', key)
  end
end
return out
"""

# KEYS: expiry zset, hold index, version   ARGV: showtime id, key prefix ("P:{st:N}:"), channel
# Releases what lapsed in one showtime; returns {released labels, lapsed "label|user" entries, version}.
_LUA_SWEEP = _LUA_PUBLISH + """
local sid, prefix, channel = ARGV[1], ARGV[2], ARGV[3]
local now = now_ms()
local released, lapsed = {}, {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local bar = string.find(member, '|', 1, true)
  local label, uid = string.sub(member, 1, bar - 1), string.sub(member, bar + 1)
  local key = prefix .. 'hold:' .. label
  local holder = redis.call('GET', key)
  if holder == uid then
    -- renewed without its score moving (should not happen): keep it, fix the score
    local pttl = redis.call('PTTL', key)
    if pttl < 0 then pttl = 0 end
    redis.call('ZADD', KEYS[1], now + pttl, member)
  else
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', prefix .. 'user:' .. uid, label)
    lapsed[#lapsed + 1] = member
    if not holder then released[#released + 1] = label end
  end
end
local version = publish(KEYS[3], channel, 'seat_released', sid, released)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then
  redis.call('ZREM', KEYS[2], sid)
else
  redis.call('ZADD', KEYS[2], first[2], sid)
end
return {released, lapsed, version}
"""

# KEYS: version   ARGV: channel, event type, showtime id, labels...
_LUA_EVENT = _LUA_PUBLISH + """
local labels = {}
for i = 4, #ARGV do labels[#labels + 1] = ARGV[i] end
return publish(KEYS[1], ARGV[1], ARGV[2], ARGV[3], labels)
"""

# A caller's precondition checked in the same step as a lock or release, so that it costs no round trip of
# its own (app.services.auth passes the token's and its user's revocation keys this way): KEYS[1] and
# KEYS[2] must not exist, KEYS[3] must exist; all three are removed from KEYS before the script proper
# runs, so its indices are unchanged.
_LUA_GUARD = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return {-7} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {-8} end
table.remove(KEYS, 1)
table.remove(KEYS, 1)
table.remove(KEYS, 1)
"""
GUARD_PRESENT, GUARD_MISSING = -7, -8

_SOURCES = {"lock": _LUA_LOCK, "seat_fill": seatcache.LUA_FILL, "release": _LUA_RELEASE, "extend": _LUA_EXTEND,
            "inspect": _LUA_INSPECT, "snapshot": _LUA_SNAPSHOT, "sweep": _LUA_SWEEP, "event": _LUA_EVENT,
            "lock_guarded": _LUA_GUARD + _LUA_LOCK, "release_guarded": _LUA_GUARD + _LUA_RELEASE}
_scripts: dict[str, Script] = {}

EVENT_TYPES = ("seat_locked", "seat_released", "seat_booked", "seat_update")


def _script(name: str, client: redis.Redis) -> Script:
    script = _scripts.get(name)
    if script is None:
        # the SHA is computed once; each call passes its own client (EVALSHA, EVAL on NOSCRIPT)
        script = _scripts[name] = Script(client, _SOURCES[name])
    return script


def _run(name: str, keys: Sequence[str], args: Sequence[Any], client: redis.Redis | None = None) -> Any:
    client = client or get_redis()
    return _script(name, client)(keys=list(keys), args=list(args), client=client)


run_script = _run


class GuardRefused(Exception):
    """The caller's guard keys refused a lock or release; nothing was changed. `present` is True when a
    key that must not exist exists, False when the key that must exist is missing."""

    def __init__(self, present: bool) -> None:
        super().__init__("guard key present" if present else "guard key missing")
        self.present = present


def _run_guarded(name: str, keys: Sequence[str], args: Sequence[Any], guard: Sequence[str],
                 client: redis.Redis | None) -> Any:
    if not guard:
        return _run(name, keys, args, client)
    if len(guard) != 3:
        raise ValueError("guard is (two keys that must not exist, a key that must exist)")
    result = _run(f"{name}_guarded", [*guard, *keys], args, client)
    if result[0] in (GUARD_PRESENT, GUARD_MISSING):
        raise GuardRefused(result[0] == GUARD_PRESENT)
    return result


# ---- keys -----------------------------------------------------------------------------------------

def _prefix() -> str:
    return current_app.config["SEAT_LOCK_PREFIX"]


def showtime_prefix(showtime_id: int) -> str:
    return f"{_prefix()}:{{st:{showtime_id}}}:"


def hold_key(showtime_id: int, label: str) -> str:
    return f"{showtime_prefix(showtime_id)}hold:{label}"


def user_key(showtime_id: int, user_id: str) -> str:
    return f"{showtime_prefix(showtime_id)}user:{user_id}"


def deadline_key(showtime_id: int, user_id: str) -> str:
    return f"{showtime_prefix(showtime_id)}deadline:{user_id}"


def user_holds_key(user_id: str) -> str:
    """Every showtime's holds of one user: outside any showtime's hash tag (see the module docstring)."""
    return f"{_prefix()}:user-holds:{user_id}"


def expiry_key(showtime_id: int) -> str:
    return f"{showtime_prefix(showtime_id)}expiry"


def version_key(showtime_id: int) -> str:
    return f"{showtime_prefix(showtime_id)}version"


def index_key() -> str:
    return f"{_prefix()}:hold-index"


def events_channel() -> str:
    return f"{_prefix()}:events"


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


@dataclass
class Lapsed:
    """Holds that expired in one showtime: the seats now free, and each former holder's seats."""

    showtime_id: int
    released: list[str]
    by_user: dict[str, list[str]] = field(default_factory=dict)
    version: int | None = None


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
    if for_lock:
        if status != ShowtimeStatus.SCHEDULED.value:
            raise Conflict("This showtime was cancelled; its seats cannot be held.", code="showtime_cancelled",
                           details={"showtime_id": showtime_id})
        if starts_at <= datetime.now(timezone.utc):
            raise Conflict("This showtime has already started; its seats cannot be held.",
                           code="showtime_started", details={"showtime_id": showtime_id})
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
    config = current_app.config
    return [int(config["HOLD_MAX_LIFETIME_S"]) * 1000, int(config["HOLD_RELOCK_COOLDOWN_S"]) * 1000]


# ---- the service --------------------------------------------------------------------------------

def lock(showtime_id: int, user_id: str | int, seat_ids: Iterable[str], *, ttl_ms: int | None = None,
         guard: Sequence[str] = (), client: redis.Redis | None = None) -> HoldResult:
    """Hold every named seat for user_id, or none of them; re-locking one's own seat renews it, up to
    the seat's deadline (HOLD_MAX_LIFETIME_S after the user first locked it; see the module docstring).

    `guard` (two keys that must not exist, a key that must exist) is checked in the same Lua step, before
    anything else. Raises GuardRefused, NotFound, ValidationError (malformed/unknown seats), Conflict
    `seat_taken` (booked, blocked or held by someone else: details.seat_ids), Conflict
    `hold_deadline_reached` (details.seat_ids, details.retry_at), Conflict `seat_limit_exceeded` (this
    showtime) and `hold_limit_exceeded` (all showtimes, HOLD_MAX_SEATS_PER_USER), Conflict for a
    cancelled or started showtime, and redis errors (503 `redis_unavailable`: a lock never fails open).
    """
    uid = str(user_id)
    labels = normalize_labels(seat_ids)
    config = current_app.config
    maximum = int(config["MAX_SEATS_PER_BOOKING"])
    if len(labels) > maximum:
        raise ValidationError(f"At most {maximum} seats can be held at once.", code="too_many_seats",
                              details={"max": maximum})
    ttl = int(ttl_ms or config["SEAT_LOCK_TTL_MS"])
    total = int(config["HOLD_MAX_SEATS_PER_USER"])
    keys = [user_key(showtime_id, uid), expiry_key(showtime_id), index_key(), version_key(showtime_id),
            seatcache.hash_key(showtime_id), seatcache.gen_key(showtime_id), seatcache.global_gen_key(),
            deadline_key(showtime_id, uid), user_holds_key(uid)]
    keys += [hold_key(showtime_id, s) for s in labels]
    args: list[Any] = [uid, ttl, maximum, showtime_id, events_channel(), "1", *_lifetime_args(), total, *labels]
    # The seat facts (exist, sellable, showtime scheduled and not started) are checked in the same
    # script against seatcache's copy of the database; a missing or outdated copy is reloaded first.
    result = _run_guarded("lock", keys, args, guard, client)
    if result[0] == -2:
        if seatcache.fill(showtime_id, str(result[1]), client):
            result = _run_guarded("lock", keys, args, guard, client)
        if result[0] == -2:  # the seats changed while we read them: ask the database this once
            states = _load_seats(showtime_id, labels, for_lock=True)
            unsellable = [s for s in labels if states[s] != SeatState.AVAILABLE.value]
            if unsellable:
                raise _seat_taken(showtime_id, unsellable, {"booked": unsellable})
            args[5] = "0"
            result = _run_guarded("lock", keys, args, guard, client)
    if result[0] == -3:
        unknown = list(result[1])
        raise ValidationError(f"Unknown seats for showtime {showtime_id}: {', '.join(unknown)}.",
                              code="unknown_seats", details={"seat_ids": unknown})
    if result[0] == -4:
        raise Conflict("This showtime was cancelled; its seats cannot be held.", code="showtime_cancelled",
                       details={"showtime_id": showtime_id})
    if result[0] == -5:
        raise Conflict("This showtime has already started; its seats cannot be held.",
                       code="showtime_started", details={"showtime_id": showtime_id})
    if result[0] == -6:
        raise _seat_taken(showtime_id, list(result[1]), {"booked": list(result[1])})
    if result[0] == 0:
        raise _seat_taken(showtime_id, list(result[1]), {"held": list(result[1])})
    if result[0] == -9:
        raise _deadline_reached(showtime_id, list(result[1]), result[2])
    if result[0] == -1:
        raise Conflict(f"You can hold at most {maximum} seats of a showtime (you hold {result[1]}).",
                       code="seat_limit_exceeded", details={"max": maximum, "held": int(result[1])})
    if result[0] == -10:
        raise Conflict(f"You can hold at most {total} seats across all showtimes (you hold {result[1]}).",
                       code="hold_limit_exceeded", details={"max": total, "held": int(result[1])})
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
    keys = [user_key(showtime_id, uid), expiry_key(showtime_id), version_key(showtime_id), user_holds_key(uid)]
    keys += [hold_key(showtime_id, s) for s in labels]
    result = _run_guarded("release", keys, [uid, showtime_id, events_channel(), event, *labels], guard, client)
    if result[0] == 0:
        raise Forbidden("Only the holder can release these seats.", code="not_holder",
                        details={"showtime_id": showtime_id, "seat_ids": list(result[1])})
    released = list(result[1])
    SEAT_HOLDS_RELEASED.labels(event).inc(len(released))
    if check_seats and len(released) < len(labels):
        _load_seats(showtime_id, labels, for_lock=False)
    log.debug("seats released showtime=%s user=%s seats=%s", showtime_id, uid, ",".join(released))
    return released


def renewals_key(showtime_id: int, user_id: str) -> str:
    return f"{showtime_prefix(showtime_id)}renewals:{user_id}"


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
    keys = [user_key(showtime_id, uid), expiry_key(showtime_id), deadline_key(showtime_id, uid), user_holds_key(uid)]
    keys += [hold_key(showtime_id, s) for s in labels]
    result = _run("extend", keys, [uid, ttl, showtime_id, *_lifetime_args(), *labels], client)
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
    out = _run("inspect", keys, [], client)
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
    out = _run("snapshot", [version_key(showtime_id), expiry_key(showtime_id)],
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
    out = _run("inspect", keys, [], client)
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
    return int(_run("event", [version_key(showtime_id)], [events_channel(), event, showtime_id, *labels], client))


# ---- expiry -------------------------------------------------------------------------------------

LapseHandler = Callable[[Lapsed], None]
_lapse_handlers: list[LapseHandler] = []


def on_holds_lapsed(handler: LapseHandler) -> LapseHandler:
    """Register a function called (inside the expiry task's app context) with each showtime's lapsed holds.

    The orders service registers `expire orders whose holds lapsed` here; a handler's failure is logged
    and does not stop the sweep.
    """
    if handler not in _lapse_handlers:
        _lapse_handlers.append(handler)
    return handler


def remove_lapse_handler(handler: LapseHandler) -> None:
    if handler in _lapse_handlers:
        _lapse_handlers.remove(handler)


def due_showtimes(limit: int = 500, client: redis.Redis | None = None) -> list[int]:
    """Showtimes whose earliest hold expiry has passed (the index may point early, never late)."""
    client = client or get_redis()
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    due: list[Any] = client.zrangebyscore(index_key(), "-inf", now_ms, start=0, num=limit)
    return [int(s) for s in due]


def sweep_showtime(showtime_id: int, client: redis.Redis | None = None) -> Lapsed:
    """Release the lapsed holds of one showtime and publish `seat_released` for them (idempotent)."""
    out = _run("sweep", [expiry_key(showtime_id), index_key(), version_key(showtime_id)],
               [showtime_id, showtime_prefix(showtime_id), events_channel()], client)
    lapsed = Lapsed(showtime_id, list(out[0]), version=int(out[2]) or None)
    for member in out[1]:
        label, _, uid = member.partition("|")
        lapsed.by_user.setdefault(uid, []).append(label)
    if lapsed.by_user:
        log.info("holds lapsed showtime=%s released=%s", showtime_id, ",".join(lapsed.released))
        for handler in list(_lapse_handlers):
            try:
                handler(lapsed)
            except Exception:
                log.exception("hold lapse handler %r failed for showtime %s", handler, showtime_id)
    return lapsed


def sweep(limit: int = 500, client: redis.Redis | None = None) -> list[Lapsed]:
    """Sweep every showtime that has lapsed holds; returns what was released."""
    client = client or get_redis()
    return [lapsed for sid in due_showtimes(limit, client)
            if (lapsed := sweep_showtime(sid, client)).by_user]
