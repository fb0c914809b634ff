-- wrk script for the bench drivers: `wrk -t1 -c32 -s bench/wrk_phase.lua URL -- MODE TOKENS SHOWTIME`
--   bare        GET /bench/bare                      (in the app: no auth, no database, no Redis)
--   auth        GET /bench/auth with user i's token  (only the bearer-token check)
--   lock        POST redis-lock-seats, then redis-unlock-seats, of user i's own seat, alternating per user
--   ok          GET /ok       of bench/ceiling.py (a plain Flask app: the bare-endpoint ceiling)
--   evalsha     GET /evalsha  of bench/ceiling.py (one EVALSHA round trip to Redis)
--   seats       GET /api/showtimes/SHOWTIME/seats, anonymous
--   seats_auth  GET /api/showtimes/SHOWTIME/seats with user i's token, users in turn (`mine` marks)
-- TOKENS and SHOWTIME are read only by the modes that need them (pass anything for the others).
-- In the lock mode users are taken in turn (one seat each), so every lock and unlock is a 200 whatever
-- the interleaving: re-locking one's own seat renews it and unlocking a free seat releases nothing, and
-- nobody ever holds more than one seat. done() prints one JSON line the driver parses.

local mode, reqs, turn, phase = "bare", {}, 0, {}
local fixed = { bare = "/bench/bare", ok = "/ok", evalsha = "/evalsha" }

local function seat(n)
  local row = math.floor(n / 18) + 1
  return string.sub("ABCDEFGHIJKL", row, row) .. tostring(n % 18 + 1)
end

function init(args)
  mode = args[1]
  if fixed[mode] then
    reqs[1] = wrk.format("GET", fixed[mode])
    return
  end
  if mode == "seats" then
    reqs[1] = wrk.format("GET", "/api/showtimes/" .. args[3] .. "/seats")
    return
  end
  local n = 0
  for token in io.lines(args[2]) do
    local auth = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    local body = '{"seat_ids":["' .. seat(n) .. '"]}'
    n = n + 1
    if mode == "auth" then
      reqs[n] = wrk.format("GET", "/bench/auth", auth)
    elseif mode == "seats_auth" then
      reqs[n] = wrk.format("GET", "/api/showtimes/" .. args[3] .. "/seats", { ["Authorization"] = "Bearer " .. token })
    elseif mode == "lock" then
      local base = "/api/showtimes/" .. args[3]
      reqs[n] = { wrk.format("POST", base .. "/redis-lock-seats", auth, body),
                  wrk.format("POST", base .. "/redis-unlock-seats", auth, body) }
      phase[n] = 1
    else
      error("unknown mode " .. tostring(mode))
    end
  end
end

function request()
  if #reqs == 1 and mode ~= "lock" then return reqs[1] end
  turn = turn % #reqs + 1
  if mode ~= "lock" then return reqs[turn] end
  local p = phase[turn]
  phase[turn] = 3 - p
  return reqs[turn][p]
end

function done(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
