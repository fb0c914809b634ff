"""Every Redis key and channel of the seat domain, named once.

Keys (P = SEAT_LOCK_PREFIX; `{st:N}` is a Redis Cluster hash tag keeping a showtime's keys together):
  P:{st:N}:hold:A1    holder user id, with a PX expiry of SEAT_LOCK_TTL_MS
  P:{st:N}:user:U     sorted set: the seats user U holds, scored by expiry (ms) -> per-user limit
  P:{st:N}:deadline:U sorted set: the seats user U held lately, scored by their hold deadline (ms)
  P:{st:N}:expiry     sorted set: "label|user" scored by expiry (ms) -> swept by workers.holds
  P:{st:N}:version    INCR counter; every published event carries the next value
  P:hold-index        sorted set: showtime id scored no later than its earliest expiry
  P:user-holds:U      sorted set: "showtime|label" of every seat U holds, scored by expiry -> the
                      cross-showtime cap (HOLD_MAX_SEATS_PER_USER)
  P:events            the pub/sub channel of seat events for every showtime (single Redis)
  P:{st:N}:events     on a Redis Cluster instead: the showtime's own shard channel (SPUBLISH / SSUBSCRIBE)
  P:{st:N}:seats      hash: label -> seat state for every seat, `#status`, `#starts` (ms), `#gen`, and for
                      the seat map `#taken` (booked and blocked seats, JSON) and `#static` (its template's digest)
  P:{st:N}:seats-gen  INCR counter: bumped after every commit that changed the showtime or its seats
  P:seats-gen         INCR counter: bumped after a commit that changed seats we could not attribute

The waiting room (app.services.waiting_room); its settings are the seat facts' `#room`:
  P:{st:N}:room:queue  sorted set: waiting user ids by place (before the opening a random number below
                       2^48, so the pre-queue is shuffled; after it 2^48 + arrival number: first come)
  P:{st:N}:room:active sorted set: admitted user ids, scored by their pass's expiry (ms)
  P:{st:N}:room:joined hash: user id -> when they joined (ms), for the wait-time histogram
  P:{st:N}:room:seq    INCR counter: arrival numbers after the opening
  P:{st:N}:room:recent sorted set: the last five minutes' admissions, for the estimated wait
  P:{st:N}:room:settings hash: `v` the settings as the facts' `#room` spells them, `g` the room gen and
                       global seats-gen they were read at (the room scripts' copy: a sale, which
                       outdates the seat facts, leaves it alone)
  P:{st:N}:room:gen    INCR counter: bumped after every commit that changed the room's settings
  P:room-index         sorted set: showtime id scored by when its room next needs an admission run
"""

from __future__ import annotations

from app.appctx import this_app


def _prefix() -> str:
    return this_app().config["SEAT_LOCK_PREFIX"]


def showtime_prefix(showtime_id: int) -> str:
    return f"{_prefix()}:{{st:{showtime_id}}}:"


def hold_key(showtime_id: int, label: str) -> str:
    return f"{showtime_prefix(showtime_id)}hold:{label}"


def user_key(showtime_id: int, user_id: str) -> str:
    return f"{showtime_prefix(showtime_id)}user:{user_id}"


def deadline_key(showtime_id: int, user_id: str) -> str:
    return f"{showtime_prefix(showtime_id)}deadline:{user_id}"


def user_holds_key(user_id: str, showtime_id: int | None = None) -> str:
    """Every showtime's holds of one user: outside any showtime's hash tag (see the module docstring). Inside
    a script on a cluster, a stand-in in the showtime's slot (holds.lock checks the real one after it)."""
    if showtime_id is not None and clustered():
        return f"{showtime_prefix(showtime_id)}user-holds:{user_id}"
    return f"{_prefix()}:user-holds:{user_id}"


def expiry_key(showtime_id: int) -> str:
    return f"{showtime_prefix(showtime_id)}expiry"


def version_key(showtime_id: int) -> str:
    return f"{showtime_prefix(showtime_id)}version"


def clustered() -> bool:
    """Whether the lock store is a Redis Cluster (REDIS_CLUSTER_NODES): a script may then touch the keys
    of one slot only, so the keys below that are not a showtime's own get an in-slot stand-in inside the
    scripts (`showtime_id` given), and the callers do the cross-slot part as steps of their own."""
    return bool(this_app().config.get("REDIS_CLUSTER_NODES"))


def index_key(showtime_id: int | None = None) -> str:
    """The hold index; inside a script on a cluster, a stand-in in the showtime's slot (the caller updates
    the real index after the script)."""
    if showtime_id is not None and clustered():
        return f"{showtime_prefix(showtime_id)}hold-index"
    return f"{_prefix()}:hold-index"


def events_channel(showtime_id: int | str) -> str:
    """Where a showtime's seat and queue events are published: on a cluster, a shard channel in the showtime's
    slot (SPUBLISH from its scripts, SSUBSCRIBE by app.realtime.shards), else the one channel of all."""
    if clustered():
        return f"{showtime_prefix(int(showtime_id))}events"
    return f"{_prefix()}:events"


def renewals_key(showtime_id: int, user_id: str) -> str:
    return f"{showtime_prefix(showtime_id)}renewals:{user_id}"


def hash_key(showtime_id: int) -> str:
    return f"{showtime_prefix(showtime_id)}seats"


def gen_key(showtime_id: int) -> str:
    return f"{showtime_prefix(showtime_id)}seats-gen"


def global_gen_key(showtime_id: int | None = None) -> str:
    """The counter of changes nobody could attribute to a showtime. Inside a script on a cluster, a key in
    the showtime's slot that nothing writes ("0"): there such a change bumps every showtime that has a
    facts copy instead (facts.invalidate, the facts index)."""
    if showtime_id is not None and clustered():
        return f"{showtime_prefix(showtime_id)}seats-gen-all"
    return f"{_prefix()}:seats-gen"


def facts_index_key() -> str:
    """On a cluster: showtimes with a facts copy, scored by when it was filled (facts.invalidate)."""
    return f"{_prefix()}:facts-index"


def room_key(showtime_id: int, part: str) -> str:
    """A waiting room key: part is queue, active, joined, seq, recent, gen or settings (module docstring)."""
    if part not in ("queue", "active", "joined", "seq", "recent", "gen", "settings"):
        raise ValueError(f"no waiting room key {part!r}")
    return f"{showtime_prefix(showtime_id)}room:{part}"


def room_index_key(showtime_id: int | None = None) -> str:
    """The rooms' due index; inside a script on a cluster, a stand-in in the showtime's slot."""
    if showtime_id is not None and clustered():
        return f"{showtime_prefix(showtime_id)}room-index"
    return f"{_prefix()}:room-index"
