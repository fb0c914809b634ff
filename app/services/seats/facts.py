"""The seat facts a lock checks, cached in Redis so that a lock is one Redis round trip and no query.

A lock may only hold seats that exist, of a scheduled showtime that has not started, that are not
booked or blocked. Those facts live in the database; this module keeps a copy per showtime in one Redis
hash that the lock's Lua script reads in the same step as it takes the holds:

  (the hash P:{st:N}:seats and the counters P:{st:N}:seats-gen and P:seats-gen, keys.py)

The copy is only trusted while its `#gen` equals "<P:seats-gen>:<P:{st:N}:seats-gen>" (the script checks),
and it expires after SEAT_CACHE_TTL_S whatever happens. A commit that touched a `showtimes` or
`showtime_seats` row (or a screen: the seat map shows its layout) through the app's session (ORM
objects, or an UPDATE/DELETE whose WHERE names the showtime; anything else bumps the global counter)
bumps the counter right after the commit, so the next lock (or seat map) reloads the facts from the
database. A reload is refused if a counter moved while it read the database, so a reload can never
store facts older than a change it missed.

Stale is possible in two narrow cases: between a commit and its bump (the same window the lock's old
database read had), and for writes made outside the app's session (psql, or a failed bump while Redis
was unreachable) until the TTL. Neither can sell a seat twice: orders.create_order re-reads the seats
and confirm_payment takes row locks and updates only seats that are still available.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from app.errors import NotFound
from app.extensions import db, get_redis
from app.models import Screen, SeatState, Showtime, ShowtimeSeat, Theatre, WaitingRoom
from app.models._types import UTCDateTime
from app.services.seats import scripts
from app.services.seats.keys import clustered, facts_index_key, gen_key, global_gen_key, hash_key, room_key

log = logging.getLogger(__name__)

_CHANGED = "cineverse_seatcache_changed"  # session.info: showtime ids (or ALL) changed in this transaction
_ROOMS_CHANGED = "cineverse_rooms_changed"  # session.info: showtime ids whose waiting room settings changed
ALL = 0  # not a showtime id: "some showtime we cannot name"
_TAKEN_STATES = {SeatState.BOOKED.value, SeatState.BLOCKED.value}


_SHOWTIME_SQL = sa.text(
    "SELECT s.status, s.starts_at, sc.layout, wr.enabled, wr.active_limit, wr.sales_open_at, wr.pass_ttl_s, "
    "t.allow_single_seat_gaps FROM showtimes s JOIN screens sc ON sc.id = s.screen_id "
    "JOIN theatres t ON t.id = sc.theatre_id LEFT JOIN waiting_rooms wr ON wr.showtime_id = s.id "
    "WHERE s.id = :showtime_id"
).columns(sa.column("status", sa.String), sa.column("starts_at", UTCDateTime()), sa.column("layout", sa.JSON),
          sa.column("enabled", sa.Boolean), sa.column("active_limit", sa.Integer),
          sa.column("sales_open_at", UTCDateTime()), sa.column("pass_ttl_s", sa.Integer),
          sa.column("allow_single_seat_gaps", sa.Boolean))
_SEATS_SQL = sa.text(
    "SELECT label, row, number, section, price, accessible, companion, state FROM showtime_seats "
    "WHERE showtime_id = :showtime_id ORDER BY row, number"
).columns(sa.column("label", sa.String), sa.column("row", sa.String), sa.column("number", sa.Integer),
          sa.column("section", sa.String), sa.column("price", sa.Integer), sa.column("accessible", sa.Boolean),
          sa.column("companion", sa.Boolean), sa.column("state", sa.String))


@dataclass(frozen=True)
class ShowtimeRows:
    """What the database says of one showtime's seats, read in one go (two queries)."""

    showtime_id: int
    status: str
    starts_at: Any
    layout: dict[str, Any]
    seats: list[Any]  # (label, row, number, section, price, accessible, companion, state), in map order
    room: str = ""  # its waiting_rooms row as the scripts read it (room_facts), "" for none
    gaps_allowed: bool = False  # its theatre's allow_single_seat_gaps

    def hall(self, holders: dict[str, str] | None = None) -> Any:
        """The seats as app.services.seats.adjacency sees them: booked and blocked seats taken, and the
        seats in `holders` (the live holds)."""
        from app.services.seats.adjacency import COMPANION, WHEELCHAIR, Hall

        kinds = {s[0]: WHEELCHAIR if s[5] else COMPANION for s in self.seats if s[5] or s[6]}
        booked = {s[0] for s in self.seats if s[7] in _TAKEN_STATES}
        return Hall({s[0] for s in self.seats}, kinds, booked | set(holders or {}), dict(holders or {}))

    def rules(self, release_before_s: int) -> str:
        """The facts' `#rules` (lock_script.SEAT_RULES): gaps allowed, and when companion seats open to all."""
        release = int(self.starts_at.timestamp() * 1000) - release_before_s * 1000
        return f"{int(bool(self.gaps_allowed))},{max(release, 0)}"

    @property
    def static_digest(self) -> str:
        """A digest of everything the seat map shows that is not a seat's state: the showtime, its layout
        and every seat's row, number, section, price and kind. Equal digests mean equal map templates."""
        # repr, not a JSON dump: a tenth of the cost, and deterministic for the same rows and layout (the
        # layout's keys keep the order they are stored in; another order only means another template)
        static = (self.showtime_id, self.layout, [tuple(seat[:7]) for seat in self.seats])
        return hashlib.blake2b(repr(static).encode(), digest_size=12).hexdigest()


_TAKEN_SQL = sa.text(
    "SELECT label, state FROM showtime_seats WHERE showtime_id = :showtime_id AND state IN ('booked', 'blocked')"
)


def taken_seats(showtime_id: int) -> dict[str, str]:
    """label -> "booked" / "blocked" for the showtime's seats that are not for sale, from the database."""
    return {str(row[0]): str(row[1]) for row in db.session.execute(_TAKEN_SQL, {"showtime_id": showtime_id})}


def read_showtime(showtime_id: int) -> ShowtimeRows:
    """Raises NotFound for an unknown showtime."""
    head = db.session.execute(_SHOWTIME_SQL, {"showtime_id": showtime_id}).first()
    if head is None:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    seats = list(db.session.execute(_SEATS_SQL, {"showtime_id": showtime_id}).all())
    return ShowtimeRows(showtime_id, head[0], head[1], head[2], seats, room_facts(*head[3:7]), bool(head[7]))


def room_facts(enabled: bool | None, active_limit: int | None, sales_open_at: Any, pass_ttl_s: int | None) -> str:
    """A waiting_rooms row as the seat facts' `#room` ("enabled,active limit,opens at ms,pass ttl ms", the
    shape lock_script.ROOM_GATE parses); "" when the showtime has none."""
    if enabled is None:
        return ""
    opens = int(sales_open_at.timestamp() * 1000) if sales_open_at is not None else 0
    return f"{int(bool(enabled))},{int(active_limit or 1)},{opens},{int(pass_ttl_s or 60) * 1000}"


# One fill at a time per showtime in this process: when a sale changes the facts, every request that
# arrives before the new copy is stored would otherwise read the database at once. The ones that waited
# find the copy they need already stored (its `#gen`) and read nothing. One lock per showtime id, held
# only while somebody uses it (weak values): requests for ids that do not exist never queue a real
# showtime's fill behind theirs (a shared stripe let a flood of unknown ids delay a hot showtime's refills).
class _FillLock:
    __slots__ = ("lock", "__weakref__")

    def __init__(self) -> None:
        self.lock = threading.Lock()


_FILL_LOCKS: weakref.WeakValueDictionary[int, _FillLock] = weakref.WeakValueDictionary()
_FILL_LOCKS_GUARD = threading.Lock()
FILL_WAIT_S = 5.0


def _fill_lock(showtime_id: int) -> _FillLock:
    with _FILL_LOCKS_GUARD:
        lock = _FILL_LOCKS.get(showtime_id)
        if lock is None:
            lock = _FILL_LOCKS[showtime_id] = _FillLock()
        return lock


def fill(showtime_id: int, expected_gen: str, client: redis.Redis | None = None) -> bool:
    """Load the showtime's facts from the database into the cache, unless they changed meanwhile.

    `expected_gen` is the generation the caller found the copy out of date with. Once this request's turn
    comes (one fill at a time per showtime in this process), a copy of the generation current by then
    may already be there (another request made it): nothing is read. Otherwise the database is read for
    the current generation. Returns whether the cache now holds a current copy. Raises NotFound for an
    unknown showtime (never cached).
    """
    redis_client = client or get_redis()
    holder = _fill_lock(showtime_id)  # kept alive by this frame while it is in use
    stripe = holder.lock
    queued = stripe.acquire(timeout=FILL_WAIT_S)  # bounded: past it, this request reads for itself
    try:
        if clustered():  # before the read: a change nobody can attribute, from now on, bumps this copy
            redis_client.zadd(facts_index_key(), {str(showtime_id): int(time.time() * 1000)})
        pipe = redis_client.pipeline(transaction=False)
        pipe.get(global_gen_key(showtime_id))
        pipe.get(gen_key(showtime_id))
        pipe.hget(hash_key(showtime_id), "#gen")
        overall, own, stored = pipe.execute()
        current = f"{overall or 0}:{own or 0}"  # as the scripts' seat_gen() spells it
        if stored == current:
            return True
        return _fill(showtime_id, current, client)
    finally:
        if queued:
            stripe.release()


def _fill(showtime_id: int, expected_gen: str, client: redis.Redis | None) -> bool:
    rows = read_showtime(showtime_id)
    fields: list[Any] = ["#status", rows.status, "#starts", int(rows.starts_at.timestamp() * 1000), "#room", rows.room,
                         "#rules", rows.rules(int(current_app.config["COMPANION_RELEASE_BEFORE_S"]))]
    taken = {}
    for seat in rows.seats:
        label, state = seat[0], seat[7]
        fields += [label, state]
        if state in _TAKEN_STATES:
            taken[label] = state
        if seat[5] or seat[6]:  # its kind, for the seat rules: a wheelchair space or a companion seat
            fields += [f"^{label}", "w" if seat[5] else "c"]
    # for the seat map (seatmap.py): the seats it shows as booked or blocked, and its template's digest
    fields += ["#taken", json.dumps(taken, separators=(",", ":")), "#static", rows.static_digest]
    ttl_ms = int(current_app.config["SEAT_CACHE_TTL_S"]) * 1000
    return bool(scripts.run("seat_fill", [hash_key(showtime_id), gen_key(showtime_id), global_gen_key(showtime_id)],
                           [expected_gen, ttl_ms, *fields], client))


def invalidate(showtime_ids: set[int], client: redis.Redis | None = None, rooms: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    """Announce that these showtimes' facts changed (ALL: some showtime). When Redis refuses (down, or a
    full pool under a sell-out), a background retry bumps them again over the next few seconds, so a sold
    seat is not shown as free until SEAT_CACHE_TTL_S (the database still refuses to sell it twice)."""
    redis_client = client or get_redis()
    keys = [global_gen_key() if showtime_id == ALL else gen_key(showtime_id) for showtime_id in sorted(showtime_ids)]
    keys += [room_key(showtime_id, "gen") for showtime_id in sorted(rooms)]  # `rooms` are in showtime_ids too
    try:
        if ALL in showtime_ids and clustered():
            keys += _cluster_copies(redis_client)
        _bump(redis_client, keys)
    except redis.RedisError as exc:
        log.warning("seat cache invalidation failed for showtimes %s (%s); retrying", sorted(showtime_ids), exc)
        threading.Thread(target=_bump_later, args=(redis_client, keys), name="seat-facts-bump", daemon=True).start()


FACTS_INDEX_KEEP_MS = 600_000  # far longer than a copy lives (SEAT_CACHE_TTL_S)


def _cluster_copies(client: redis.Redis) -> list[str]:
    """On a cluster, what a change nobody can attribute bumps: the counter of every showtime filled lately
    (and each one's room settings), since the scripts there cannot read the global counter."""
    now = int(time.time() * 1000)
    client.zremrangebyscore(facts_index_key(), "-inf", now - FACTS_INDEX_KEEP_MS)
    filled: list[str] = client.zrange(facts_index_key(), 0, -1)  # type: ignore[assignment]
    return [key for sid in filled for key in (gen_key(int(sid)), room_key(int(sid), "gen"))]


def _bump(client: redis.Redis, keys: list[str]) -> None:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, 7 * 86400)  # far longer than a fill takes; stale counters go away
    pipe.execute()


BUMP_RETRIES_S = (0.2, 0.5, 1.0, 2.0, 4.0)


def _bump_later(client: redis.Redis, keys: list[str]) -> None:
    for delay in BUMP_RETRIES_S:
        time.sleep(delay)
        try:
            _bump(client, keys)
            return
        except redis.RedisError:
            continue
    log.warning("seat cache invalidation of %s given up; the copies expire after SEAT_CACHE_TTL_S", keys)


# ---- noticing changes -----------------------------------------------------------------------------

def _changed(session: Session) -> set[int]:
    return session.info.setdefault(_CHANGED, set())


def _showtime_in(statement: Any, column: Any) -> int | None:
    """The showtime id an UPDATE/DELETE is confined to: a top-level `column = value` conjunct."""
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    conjuncts = where.clauses if isinstance(where, BooleanClauseList) and where.operator is operators.and_ else [where]
    for clause in conjuncts:
        if (isinstance(clause, BinaryExpression) and clause.operator is operators.eq
                and isinstance(clause.right, BindParameter) and clause.left.compare(column)):
            value = clause.right.effective_value
            if isinstance(value, int):
                return value
    return None


def _after_flush(session: Session, _flush_context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Showtime) and obj.id is not None:
            _changed(session).add(obj.id)
        elif isinstance(obj, WaitingRoom):
            _changed(session).add(obj.showtime_id if obj.showtime_id is not None else ALL)
            if obj.showtime_id is not None:
                session.info.setdefault(_ROOMS_CHANGED, set()).add(obj.showtime_id)
        elif isinstance(obj, ShowtimeSeat):
            _changed(session).add(obj.showtime_id if obj.showtime_id is not None else ALL)
        elif isinstance(obj, Screen | Theatre) and obj not in session.new:
            _changed(session).add(ALL)  # a layout shapes every showtime's seat map (seatmap.py), a theatre its rules


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ not in (Showtime, ShowtimeSeat, Screen, Theatre, WaitingRoom):
        return
    if mapper.class_ is WaitingRoom:  # written through the ORM (waiting_room.configure); a bulk write: all
        _changed(state.session).add(ALL)
        return
    if mapper.class_ in (Screen, Theatre):
        if not state.is_insert:
            _changed(state.session).add(ALL)
        return
    # the table's own column: an UPDATE's WHERE holds (annotated) table columns, which an ORM attribute
    # never compares equal to
    column = Showtime.__table__.c.id if mapper.class_ is Showtime else ShowtimeSeat.__table__.c.showtime_id
    showtime_id = None if state.is_insert else _showtime_in(state.statement, column)
    # a brand-new showtime's seats have no cache yet; anything else we cannot name invalidates all
    if state.is_insert and mapper.class_ is ShowtimeSeat:
        return
    _changed(state.session).add(showtime_id if showtime_id is not None else ALL)


def _after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    rooms = session.info.pop(_ROOMS_CHANGED, set())
    if changed and has_app_context():
        invalidate(changed, rooms=rooms)


def _after_rollback(session: Session, *_args: Any) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_ROOMS_CHANGED, None)


def init_app(app: Flask) -> None:
    """Watch the app's session for changes to showtimes and their seats (registered once per process)."""
    session = db.session
    for name, fn in (("after_flush", _after_flush), ("do_orm_execute", _on_execute),
                     ("after_commit", _after_commit), ("after_soft_rollback", _after_rollback)):
        if not sa.event.contains(session, name, fn):
            sa.event.listen(session, name, fn)
