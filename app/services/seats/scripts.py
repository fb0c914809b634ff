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
from app.services.seats import rules

# Shared by the lock script and the fill script (facts.py): the generation the cache must carry.
_LUA_GEN = """
local function seat_gen(global_key, showtime_key)
  return (redis.call('GET', global_key) or '0') .. ':' .. (redis.call('GET', showtime_key) or '0')
end
"""

# KEYS: seats hash, showtime gen, global gen   ARGV: expected gen, ttl ms, field, value, ...
# Stores the facts only if no change was announced since the caller read `expected gen`.
_LUA_FILL = _LUA_GEN + """
if seat_gen(KEYS[3], KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '#gen', ARGV[1], (unpack or table.unpack)(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

# A showtime's on-sale gate (app.services.waiting_room), from the seat facts' `#room` copy of its
# waiting_rooms row ("enabled,active limit,opens at ms,pass ttl ms"; empty: no room, the sale is open):
# {-12, opens at} before the opening; with the room enabled, {-11} unless the user's admission (their
# score in the active set) is the unexpired one their pass names; nil when the caller may go on.
_LUA_ROOM_GATE = """
local function room_refusal(room, active_key, uid, pass_exp, now)
  if room == '' then return nil end
  local enabled, _, opens = string.match(room, '^(%d),(%d+),(%d+),(%d+)$')
  if not enabled then return {-11} end  -- a copy this code cannot read: closed
  if tonumber(opens) > now then return {-12, tonumber(opens)} end
  if enabled == '1' then
    local score = redis.call('ZSCORE', active_key, uid)
    if pass_exp == '' or not score or tonumber(score) ~= tonumber(pass_exp) or tonumber(pass_exp) <= now then
      return {-11}
    end
  end
  return nil
end
"""
ROOM_PASS_REQUIRED, ROOM_NOT_OPEN = -11, -12

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
#       deadline zset, user-holds zset (all showtimes), waiting room's active zset, seat keys...
# ARGV: user, ttl_ms, max seats, showtime id, channel, check the seat facts ("1"/"0"), lifetime ms,
#       cooldown ms, max seats across showtimes, the queue pass's expiry ('' for none), labels...
# With the check, the seat facts come from the seat facts' hash (facts.py): {-2, gen} when it is missing
# or out of date (the caller reloads it), then the on-sale gate (_LUA_ROOM_GATE: {-12, opens}, {-11}),
# then the database's refusals in the database's order:
# {-3, unknown seats}, {-4} cancelled, {-5} started, {-6, booked or blocked seats}. Then {0, taken},
# {-9, seats past their deadline, when they may be held again (ms)}, {-1, held here}, {-10, held in all}.
# Without the check the caller has checked all of that in the database.
_LUA_LOCK = _LUA_PUBLISH + _LUA_GEN + _LUA_ROOM_GATE + """
local uid, ttl, max_seats, sid, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local lifetime, cooldown, max_total = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local K, A = 10, 10  -- seat keys and labels start after these
local n = #KEYS - K
local now = now_ms()
if ARGV[6] == '1' then
  local gen = seat_gen(KEYS[7], KEYS[6])
  local meta = redis.call('HMGET', KEYS[5], '#gen', '#status', '#starts', '#room')
  if meta[1] ~= gen or not meta[4] then return {-2, gen} end  -- no `#room`: a copy made before rooms existed
  local refusal = room_refusal(meta[4], KEYS[10], uid, ARGV[10], now)
  if refusal then return refusal end
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
""".replace("@AVAILABLE@", rules.SELLABLE_SEAT_STATE.value).replace("@SCHEDULED@", rules.ON_SALE_STATUS.value)

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
