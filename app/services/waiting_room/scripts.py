"""The waiting room's Lua: every step on a room (join, look, leave, admit) is one script, so a position
is never shared or skipped and an admission is never given twice (app.services.waiting_room.room).

Common KEYS: settings (the room's copy of its waiting_rooms row), room gen, global seats-gen, queue,
active, joined, seq, recent, room index (keys.py). Common ARGV: user id ('' for none), showtime id, events
channel. Each answers {-2, gen} when the settings copy is missing or outdated (the caller reloads it,
room.fill_settings, and runs the script again), else {state, a, now (ms), {admitted user, pass
expiry, joined at, ...}} and, from the visit, the caller's place (its score), the admissions of the last
five minutes and the oldest of them, the active limit and the pass TTL (ms).
state: 0 not in the room (leave: nothing to leave), 1 admitted (a = pass expiry; leave: left), 2 waiting
(a = position), 3 before the opening (a = opens at), -13 room off, -14 a settings copy it cannot read.
"""

from __future__ import annotations

from app.services.seats import lock_script
from app.services.seats import scripts as seat_scripts

# The generation a room's settings copy must carry is seat_gen(global seats-gen, room gen): its own
# counter and the global one (a change the app could not attribute), spelled as the seat facts' is.

# KEYS: settings, room gen, global seats-gen   ARGV: expected gen, ttl ms, settings ("" for none)
# Stores the settings only if no change was announced since the caller read `expected gen`.
_LUA_SETTINGS_FILL = lock_script.GEN + """
if seat_gen(KEYS[3], KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'g', ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

# The settings, the admission run and the answer, shared by every script below.
_LUA_ROOM = lock_script.PUBLISH + lock_script.GEN + """
local SETTINGS, ROOMGEN, GGEN, QUEUE, ACTIVE, JOINED, SEQ, RECENT, INDEX = unpack(KEYS)
local uid, sid, channel = ARGV[1], ARGV[2], ARGV[3]
local now = now_ms()
local meta = redis.call('HMGET', SETTINGS, 'v', 'g')
local gen = seat_gen(GGEN, ROOMGEN)
if not meta[1] or meta[2] ~= gen then return {-2, gen} end
local e, l, o, t = string.match(meta[1], '^(%d),(%d+),(%d+),(%d+)$')
if meta[1] ~= '' and not e then return {-14, 0, now, {}} end  -- a copy this code cannot read
local enabled, limit, opens, ttl = e == '1', tonumber(l or 0), tonumber(o or 0), tonumber(t or 0)
local KEEP = 2 * 86400 * 1000  -- a room's keys outlive their last use by two days
local BATCH = 500

local function admit()
  redis.call('ZREMRANGEBYSCORE', ACTIVE, '-inf', now)  -- passes that expired free their places
  local out = {}
  if enabled and opens <= now then
    local free = limit - redis.call('ZCARD', ACTIVE)
    if free > BATCH then free = BATCH end  -- a huge limit is filled a batch per run (the next run is due now)
    if free > 0 then
      local popped = redis.call('ZPOPMIN', QUEUE, free)
      local ids = {}
      for i = 1, #popped, 2 do
        local who = popped[i]
        redis.call('ZADD', ACTIVE, now + ttl, who)
        out[#out + 1] = who
        out[#out + 1] = now + ttl
        out[#out + 1] = redis.call('HGET', JOINED, who) or now
        redis.call('HDEL', JOINED, who)
        redis.call('ZADD', RECENT, now, who .. ':' .. now)
        ids[#ids + 1] = '"' .. who .. '"'
      end
      if #ids > 0 then
        redis.call('ZREMRANGEBYSCORE', RECENT, '-inf', now - 300000)
        redis.call('PEXPIRE', ACTIVE, KEEP)
        redis.call('PEXPIRE', RECENT, KEEP)
        redis.call('PUBLISH', channel, '{"type":"queue_admitted","showtime_id":' .. sid .. ',"user_ids":[' ..
          table.concat(ids, ',') .. '],"at":' .. now .. ',"expires":' .. (now + ttl) .. '}')
      end
    end
  end
  -- the next run this room needs without anybody asking: its opening, or its first pass's expiry
  local due = nil
  if enabled and opens > now then due = opens end
  if enabled and opens <= now and #out >= 3 * BATCH and redis.call('ZCARD', QUEUE) > 0 then due = now end
  local first = redis.call('ZRANGE', ACTIVE, 0, 0, 'WITHSCORES')
  if #first > 0 and (due == nil or tonumber(first[2]) < due) then due = tonumber(first[2]) end
  if due then redis.call('ZADD', INDEX, due, sid) else redis.call('ZREM', INDEX, sid) end
  return out
end

local function answer(admitted)
  local state, a, place = 0, 0, 0
  if uid ~= '' then
    local expires = redis.call('ZSCORE', ACTIVE, uid)
    if expires then
      state, a = 1, tonumber(expires)
    else
      local rank = redis.call('ZRANK', QUEUE, uid)
      if rank then
        place = redis.call('ZSCORE', QUEUE, uid)
        if enabled and opens > now then state, a = 3, opens else state, a = 2, rank + 1 end
      end
    end
  end
  local recent = redis.call('ZCOUNT', RECENT, now - 300000, '+inf')
  local oldest = redis.call('ZRANGEBYSCORE', RECENT, now - 300000, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {state, a, now, admitted, place, recent, tonumber(oldest[2] or now), limit, ttl}
end
"""

# ARGV[4]: "1" to join (ARGV[5]: the place before the opening, a random number below 2^48), "0" to look.
_LUA_VISIT = _LUA_ROOM + """
if not enabled then return {-13, 0, now, {}} end
redis.call('ZREMRANGEBYSCORE', ACTIVE, '-inf', now)  -- an expired pass is no place: joining again queues
if ARGV[4] == '1' and not redis.call('ZSCORE', ACTIVE, uid) and not redis.call('ZSCORE', QUEUE, uid) then
  local place
  if opens > now then place = tonumber(ARGV[5]) else place = 281474976710656 + redis.call('INCR', SEQ) end
  redis.call('ZADD', QUEUE, place, uid)
  redis.call('HSET', JOINED, uid, now)
  for _, key in ipairs({QUEUE, JOINED, SEQ}) do redis.call('PEXPIRE', key, KEEP) end
end
return answer(admit())
"""

# Leaves the queue or gives the admission back; the next in line is admitted. ARGV[4] "1": the admission
# only (a purchase: a late payment must not take away a place the buyer queued for again).
_LUA_LEAVE = _LUA_ROOM + """
local waiting = 0
if ARGV[4] ~= '1' then waiting = redis.call('ZREM', QUEUE, uid) end
local active = redis.call('ZREM', ACTIVE, uid)
if ARGV[4] ~= '1' then redis.call('HDEL', JOINED, uid) end
if waiting > 0 then
  redis.call('PUBLISH', channel, '{"type":"queue_moved","showtime_id":' .. sid .. ',"at":' .. now .. '}')
end
local admitted = admit()
return {(waiting > 0 or active > 0) and 1 or 0, 0, now, admitted}
"""

# Only the admission run (the beat task, for expired passes and the opening).
_LUA_TICK = _LUA_ROOM + """
return {0, 0, now, admit()}
"""

# KEYS: settings, room gen, global seats-gen, active   ARGV: user, pass expiry ('' for none)
# The on-sale gate alone (extend, create-order): {-2, gen}, the gate's refusal ({-12, opens}, {-11}), or {1}.
_LUA_GATE = lock_script.PUBLISH + lock_script.GEN + lock_script.ROOM_GATE + """
local meta = redis.call('HMGET', KEYS[1], 'v', 'g')
local gen = seat_gen(KEYS[3], KEYS[2])
if not meta[1] or meta[2] ~= gen then return {-2, gen} end
return room_refusal(meta[1], KEYS[4], ARGV[1], ARGV[2], now_ms()) or {1}
"""

for _name, _source in (("room_visit", _LUA_VISIT), ("room_leave", _LUA_LEAVE), ("room_tick", _LUA_TICK),
                       ("room_gate", _LUA_GATE), ("room_settings_fill", _LUA_SETTINGS_FILL)):
    seat_scripts.register(_name, _source)

NOT_IN_ROOM, ADMITTED, WAITING, PRE_QUEUE, ROOM_OFF, UNREADABLE = 0, 1, 2, 3, -13, -14
