"""The lock's Lua, and the fragments every seat script shares (the seat facts' generation, the on-sale
gate, the versioned event). app.services.seats.scripts runs them; the seat rules that look at a seat's
neighbours are mirrored in Python by app.services.seats.adjacency."""

from __future__ import annotations

from app.services.seats import rules

# Shared by the lock script and the fill script (facts.py): the generation the cache must carry.
GEN = """
local function seat_gen(global_key, showtime_key)
  return (redis.call('GET', global_key) or '0') .. ':' .. (redis.call('GET', showtime_key) or '0')
end
"""

# A showtime's on-sale gate (app.services.waiting_room), from the seat facts' `#room` copy of its
# waiting_rooms row ("enabled,active limit,opens at ms,pass ttl ms"; empty: no room, the sale is open):
# {-12, opens at} before the opening; with the room enabled, {-11} unless the user's admission (their
# score in the active set) is the unexpired one their pass names; nil when the caller may go on.
ROOM_GATE = """
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
PUBLISH = """
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

# The seat rules that look at a seat's neighbours (app.services.seats.adjacency has their Python mirror and
# the definitions): on `#rules` ("gaps allowed 0/1,companion release at ms"), with the seat kinds in the
# facts' `^label` fields ('w' wheelchair space, 'c' companion seat). {-14, companion seats without their
# wheelchair space}, {-13, seats the selection would strand}, or nil.
SEAT_RULES = """
local function seat_rules(hash, hold_prefix, uid, picked, labels, now, rules)
  local gaps, release = string.match(rules, '^(%d),(%d+)$')
  if not gaps then return nil end
  local known = {}
  local function state(label)  -- 'x' no seat here, 't' taken, 'e' empty
    if label == nil then return 'x' end
    if picked[label] then return 't' end
    if known[label] then return known[label] end
    local s = redis.call('HGET', hash, label)
    if not s then s = 'x'
    elseif s ~= '@AVAILABLE@' or redis.call('EXISTS', hold_prefix .. label) == 1 then s = 't'
    else s = 'e' end
    known[label] = s
    return s
  end
  local function beside(label, step)
    local row, num = string.match(label, '^(%u)(%d+)$')
    local number = tonumber(num) + step
    if number < 1 then return nil end
    return row .. number
  end
  if now < tonumber(release) then
    local alone = {}
    for _, label in ipairs(labels) do
      if redis.call('HGET', hash, '^' .. label) == 'c' then
        local ok = false
        for _, step in ipairs({-1, 1}) do
          local w = beside(label, step)
          if w and redis.call('HGET', hash, '^' .. w) == 'w'
              and (picked[w] or redis.call('GET', hold_prefix .. w) == uid) then ok = true end
        end
        if not ok then alone[#alone + 1] = label end
      end
    end
    if #alone > 0 then return {-14, alone} end
  end
  if gaps == '1' then return nil end
  local lonely, seen = {}, {}
  for _, label in ipairs(labels) do
    for _, step in ipairs({-1, 1}) do
      local seat = beside(label, step)
      if seat and not seen[seat] and state(seat) == 'e' and state(beside(seat, step)) ~= 'e'
          and not redis.call('HGET', hash, '^' .. seat) then  -- a marked seat is sold to its own buyers
        seen[seat] = true
        local others = 0  -- other empty seats in its run: the last one of a run is always sold
        for _, dir in ipairs({-1, 1}) do
          local s = beside(seat, dir)
          while state(s) ~= 'x' do
            if state(s) == 'e' then others = others + 1 end
            s = beside(s, dir)
          end
        end
        if others > 0 then lonely[#lonely + 1] = seat end
      end
    end
  end
  if #lonely > 0 then return {-13, lonely} end
  return nil
end
""".replace("@AVAILABLE@", rules.SELLABLE_SEAT_STATE.value)
ORPHAN_SEAT, COMPANION_ALONE = -13, -14

# KEYS: user zset, expiry zset, hold index, version, seats hash, showtime seats-gen, global seats-gen,
#       deadline zset, user-holds zset (all showtimes), waiting room's active zset, seat keys...
# ARGV: user, ttl_ms, max seats, showtime id, channel, check the seat facts ("1"/"0"), lifetime ms,
#       cooldown ms, max seats across showtimes, the queue pass's expiry ('' for none), labels...
# With the check, the seat facts come from the seat facts' hash (facts.py): {-2, gen} when it is missing
# or out of date (the caller reloads it), then the on-sale gate (ROOM_GATE: {-12, opens}, {-11}),
# then the database's refusals in the database's order:
# {-3, unknown seats}, {-4} cancelled, {-5} started, {-6, booked or blocked seats}. Then {0, taken},
# Then (with the check) SEAT_RULES: {-14, companion seats alone}, {-13, stranded seats}. Then
# {-9, seats past their deadline, when they may be held again (ms)}, {-1, held here}, {-10, held in all}.
# Without the check the caller has checked all of that in the database.
LOCK = PUBLISH + GEN + ROOM_GATE + SEAT_RULES + """
local uid, ttl, max_seats, sid, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local lifetime, cooldown, max_total = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local K, A = 10, 10  -- seat keys and labels start after these
local n = #KEYS - K
local now = now_ms()
if ARGV[6] == '1' then
  local gen = seat_gen(KEYS[7], KEYS[6])
  local meta = redis.call('HMGET', KEYS[5], '#gen', '#status', '#starts', '#room', '#rules')
  -- no `#room` or `#rules`: a copy made before rooms or the seat rules existed
  if meta[1] ~= gen or not meta[4] or not meta[5] then return {-2, gen} end
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
if ARGV[6] == '1' then
  local picked = {}
  for i = 1, n do picked[ARGV[A + i]] = true end
  local refused = seat_rules(KEYS[5], string.sub(KEYS[K + 1], 1, #KEYS[K + 1] - #ARGV[A + 1]), uid, picked,
                             {unpack(ARGV, A + 1)}, now, redis.call('HGET', KEYS[5], '#rules'))
  if refused then return refused end
end
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

