"""The Lua sources of the seat domain and the one runner: every change to a showtime's holds is one script,
so a request costs one Redis round trip and the change, its version and its event are one atomic step.
Each script's KEYS and ARGV are described above it; the keys themselves are named in keys.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script

from app.extensions import get_redis
from app.services.seats.lock_script import GEN as _LUA_GEN
from app.services.seats.lock_script import LOCK as _LUA_LOCK
from app.services.seats.lock_script import PUBLISH as _LUA_PUBLISH

# KEYS: seats hash, showtime gen, global gen   ARGV: expected gen, ttl ms, field, value, ...
# Stores the facts only if no change was announced since the caller read `expected gen`.
_LUA_FILL = _LUA_GEN + """
if seat_gen(KEYS[3], KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '#gen', ARGV[1], (unpack or table.unpack)(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

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

# KEYS: seats hash, showtime gen, global gen, version, expiry zset   ARGV: hold key prefix ("P:{st:N}:hold:")
# The seat map's live part in one step (seatmap.py): {1 when the seat facts' copy is current else 0, the
# current gen, the copy's #static and #taken, the event version, "label|holder,..." of every live hold}
# (one string: cheaper to return and to parse than two elements per hold; labels and ids hold no , or |).
_LUA_SEAT_VIEW = _LUA_GEN + """
local gen = seat_gen(KEYS[3], KEYS[2])
local meta = redis.call('HMGET', KEYS[1], '#gen', '#static', '#taken')
local held = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  local bar = string.find(member, '|', 1, true)
  if redis.call('GET', ARGV[1] .. string.sub(member, 1, bar - 1)) == string.sub(member, bar + 1) then
    held[#held + 1] = member
  end
end
return {(meta[1] == gen) and 1 or 0, gen, meta[2] or '', meta[3] or '', redis.call('GET', KEYS[4]) or '0',
        table.concat(held, ',')}
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

_SOURCES = {"lock": _LUA_LOCK, "seat_fill": _LUA_FILL, "release": _LUA_RELEASE, "extend": _LUA_EXTEND,
            "inspect": _LUA_INSPECT, "snapshot": _LUA_SNAPSHOT, "seat_view": _LUA_SEAT_VIEW,
            "sweep": _LUA_SWEEP, "event": _LUA_EVENT,
            "lock_guarded": _LUA_GUARD + _LUA_LOCK, "release_guarded": _LUA_GUARD + _LUA_RELEASE,
            "seat_view_guarded": _LUA_GUARD + _LUA_SEAT_VIEW}
_scripts: dict[str, Script] = {}

EVENT_TYPES = ("seat_locked", "seat_released", "seat_booked", "seat_update")


def register(name: str, source: str) -> None:
    """Add a script of another room of the seat domain (app.services.waiting_room) to run()."""
    if _SOURCES.setdefault(name, source) != source:
        raise ValueError(f"script {name!r} is already registered")


def _script(name: str, client: redis.Redis) -> Script:
    key = f"{name}:s" if isinstance(client, RedisCluster) else name  # the SHA is computed once per source
    script = _scripts.get(key)
    if script is None:  # on a cluster the events go to the showtime's shard channel (keys.events_channel)
        source = _SOURCES[name] if key == name else _SOURCES[name].replace("call('PUBLISH'", "call('SPUBLISH'")
        script = _scripts[key] = Script(client, source)  # each call passes its own client (EVALSHA, EVAL)
    return script


def run(name: str, keys: Sequence[str], args: Sequence[Any], client: redis.Redis | None = None) -> Any:
    client = client or get_redis()
    return _script(name, client)(keys=list(keys), args=list(args), client=client)


class GuardRefused(Exception):
    """The caller's guard keys refused a lock or release; nothing was changed. `present` is True when a
    key that must not exist exists, False when the key that must exist is missing."""

    def __init__(self, present: bool) -> None:
        super().__init__("guard key present" if present else "guard key missing")
        self.present = present


def run_guarded(name: str, keys: Sequence[str], args: Sequence[Any], guard: Sequence[str],
                 client: redis.Redis | None) -> Any:
    if not guard:
        return run(name, keys, args, client)
    if len(guard) != 3:
        raise ValueError("guard is (two keys that must not exist, a key that must exist)")
    result = run(f"{name}_guarded", [*guard, *keys], args, client)
    if result[0] in (GUARD_PRESENT, GUARD_MISSING):
        raise GuardRefused(result[0] == GUARD_PRESENT)
    return result
