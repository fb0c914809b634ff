"""The cross-slot halves of the hold operations on a Redis Cluster (keys.clustered()).

A script on a cluster may only touch keys of one slot, and a showtime's keys share its hash tag; what
a hold also touches elsewhere (the hold index, a user's holds across showtimes) is done here, as a step
of its own right after the script. Each step is idempotent; between the script and the step the index
may miss the new hold for a moment (its seat key still expires by itself), and the user's cap is
checked a moment after the seats are held (past it, they are released again at once).
"""

from __future__ import annotations

from typing import Any

import redis

from app.extensions import get_redis
from app.services.seats import scripts
from app.services.seats.keys import index_key, user_holds_key

# KEYS: the user's holds across showtimes   ARGV: now (ms), max seats, "showtime|label", expiry (ms), ...
# On a cluster the lock script cannot reach this key (another slot): its entries are added here, after the
# lock, and when they take the user past the cap the ones this lock added are taken out again ({0, added}).
_LUA_USER_CAP = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]))
local added, latest = {}, 0
for i = 3, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then added[#added + 1] = ARGV[i] end
  redis.call('ZADD', KEYS[1], tonumber(ARGV[i + 1]), ARGV[i])
  if tonumber(ARGV[i + 1]) > latest then latest = tonumber(ARGV[i + 1]) end
end
local total = redis.call('ZCARD', KEYS[1])
if total > tonumber(ARGV[2]) and #added > 0 then
  redis.call('ZREM', KEYS[1], unpack(added))
  return {0, added, total - #added}
end
if redis.call('PTTL', KEYS[1]) < latest - tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], latest - tonumber(ARGV[1]))
end
return {1, added, total}
"""
scripts.register("user_cap", _LUA_USER_CAP)


def after_lock(showtime_id: int, uid: str, result: list[Any], total: int,
               client: redis.Redis | None) -> tuple[list[str], int] | None:
    """The cross-slot half of a lock: the hold index, and the user's cap across showtimes. Past the cap,
    (the seats this lock took, what the user holds without them): the caller releases those and refuses."""
    redis_client = client or get_redis()
    mine = result[4]  # "label", expiry, ... of every hold of the user in this showtime
    redis_client.zadd(index_key(), {str(showtime_id): int(result[1])}, lt=True)
    entries: list[Any] = []
    for i in range(0, len(mine), 2):
        entries += [f"{showtime_id}|{mine[i]}", int(float(mine[i + 1]))]
    capped = scripts.run("user_cap", [user_holds_key(uid)], [int(result[2]), total, *entries], redis_client)
    if int(capped[0]) == 0:
        return [entry.partition("|")[2] for entry in capped[1]], int(capped[2])
    return None


def after_release(showtime_id: int, uid: str, released: list[str], client: redis.Redis | None) -> None:
    """The user's cross-showtime entries of the released seats go too (their own slot)."""
    (client or get_redis()).zrem(user_holds_key(uid), *(f"{showtime_id}|{label}" for label in released))


def after_extend(showtime_id: int, uid: str, mine: list[Any], client: redis.Redis | None) -> None:
    """Extensions only raise expiries: the user's cross-showtime entries follow (never lowered)."""
    (client or get_redis()).zadd(user_holds_key(uid), {f"{showtime_id}|{mine[i]}": int(float(mine[i + 1]))
                                                      for i in range(0, len(mine), 2)}, gt=True)
