"""The seat map of a showtime, built for the moment everybody opens it at once.

A map has a part that changes rarely (the layout, sections, every seat's row, number, section, price and
kind) and a live part (which seats are booked or blocked, which are held and by whom). Building the whole
answer from ORM rows and a marshmallow dump cost about 15 ms of CPU per request; now:

- the live part is one Redis round trip (the `seat_view` script): the seat facts' copy of the database
  (facts.py: its `#taken` field names the booked and blocked seats, `#static` is the digest of the rest of
  what the map shows, `#gen` says whether the copy is current) and every live hold, read atomically with
  the event version;
- the rarely changing part is a `MapTemplate` kept in this process, built from one database read and
  found by its digest (facts.ShowtimeRows.static_digest: the showtime, its layout, every seat's row,
  number, section, price and kind). Content-addressed, it cannot go stale: a price or layout change makes
  the facts outdated (facts.py), the next fill stores a new digest, and no template is found under it
  until one is built from the database. A booking changes only seat states, so templates outlive sales;
  a Redis flush loses only the facts copy, which the next read refills;
- the answer is the template's pre-encoded JSON fragments joined with the live part: every seat's bytes
  for each status it can have are made once, so a request only swaps the fragments of the seats that are
  not available.

The documented JSON shape is unchanged (SeatMapSchema). The sources of truth stay where they were:
PostgreSQL for sold and blocked seats (through the facts copy, which the lock path trusts the same way),
Redis for holds. With Redis down the map is built from the database alone: `holds_available` false,
`version` null.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app

from app.errors import PoolExhausted
from app.services.seats import facts, scripts
from app.services.seats.keys import expiry_key, gen_key, global_gen_key, hash_key, showtime_prefix, version_key

log = logging.getLogger(__name__)

# Fragment indexes: the statuses a seat can be shown with.
AVAILABLE, LOCKED, MINE, BOOKED, BLOCKED = range(5)
_STATUS = ("available", "locked", "locked", "booked", "blocked")
_COUNT_NAMES = ("available", "locked", "booked", "blocked")
_TAKEN = {"booked": BOOKED, "blocked": BLOCKED}

def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class MapTemplate:
    """What a showtime's map is made of, encoded once: `head` (every top-level field up to the seats),
    each seat's JSON for each status, and the database's seat states when it was read (used only when
    Redis is down)."""

    showtime_id: int
    digest: str  # facts.ShowtimeRows.static_digest of what it was made from
    head: bytes
    index: dict[str, int]  # label -> position
    fragments: tuple[tuple[bytes, ...], ...]  # per seat: its JSON for AVAILABLE, LOCKED, MINE, BOOKED, BLOCKED
    available: tuple[bytes, ...]  # every seat's AVAILABLE fragment, the starting point of each answer
    db_taken: dict[str, str]  # label -> "booked" / "blocked" at read time

    @classmethod
    def load(cls, showtime_id: int) -> MapTemplate:
        """One read of the database (facts.read_showtime). Raises NotFound for an unknown showtime."""
        rows = facts.read_showtime(showtime_id)
        layout = rows.layout
        section_price: dict[str, int] = {}
        fragments: list[tuple[bytes, ...]] = []
        index: dict[str, int] = {}
        db_taken: dict[str, str] = {}
        for position, (label, row, number, section, price, accessible, companion, state) in enumerate(rows.seats):
            section_price.setdefault(section, price)
            front = (b'{"id":' + _json(label) + b',"row":' + _json(row) + b',"number":' + _json(number)
                     + b',"section":' + _json(section) + b',"price":' + _json(price) + b',"status":"')
            kinds = b'","accessible":' + _json(bool(accessible)) + b',"companion":' + _json(bool(companion))
            fragments.append(tuple(
                front + _STATUS[k].encode() + kinds + (b',"mine":true}' if k == MINE else b',"mine":false}')
                for k in range(5)
            ))
            index[label] = position
            if state in _TAKEN:
                db_taken[label] = state
        sections = [{"name": s["name"], "label": s.get("label", s["name"].title()), "rows": s["rows"],
                     "price": section_price.get(s["name"], s["price"])} for s in layout["sections"]]
        head = (b'{"showtime_id":' + _json(showtime_id) + b',"currency":"INR","rows":' + _json(layout["rows"])
                + b',"seats_per_row":' + _json(layout["seats_per_row"]) + b',"sections":' + _json(sections)
                + b',"seats":[')
        return cls(showtime_id, rows.static_digest, head, index, tuple(fragments),
                   tuple(f[AVAILABLE] for f in fragments), db_taken)


@dataclass(frozen=True)
class SeatView:
    """One rendering of a map: `seats` is the JSON array's inside, `body` the whole documented answer."""

    showtime_id: int
    version: int | None
    holds_available: bool
    seats: bytes
    counts: dict[str, int]
    body: bytes

    @property
    def etag(self) -> str:
        """The entity tag of these bytes, unquoted (the map differs per viewer by its `mine` marks): the
        event version, which every lock, release and sale moves, and a CRC-32 and the length of the bytes,
        which catch what changes without an event (a hold lapsing, a staff edit)."""
        return f"{self.version if self.version is not None else 'db'}-{len(self.body):x}-{zlib.crc32(self.body):08x}"


def render(template: MapTemplate, taken: dict[str, str], held: dict[str, str], viewer: str | None,
           version: int | None, holds_available: bool) -> SeatView:
    """The map from a template and the live part: booked and blocked (`taken`) win over holds."""
    parts = list(template.available)
    counts = [len(parts), 0, 0, 0]  # available, locked, booked, blocked
    index, fragments = template.index, template.fragments
    for label, state in taken.items():
        position = index.get(label)
        if position is not None:
            kind = _TAKEN[state]
            parts[position] = fragments[position][kind]
            counts[0] -= 1
            counts[kind - 1] += 1
    for label, holder in held.items():
        position = index.get(label)
        if position is not None and label not in taken:
            parts[position] = fragments[position][MINE if viewer is not None and holder == viewer else LOCKED]
            counts[0] -= 1
            counts[1] += 1
    seats = b",".join(parts)
    count_map = dict(zip(_COUNT_NAMES, counts, strict=True))
    tail = (b'],"counts":' + _json(count_map) + b',"holds_available":' + _json(holds_available)
            + b',"version":' + _json(version) + b"}")
    return SeatView(template.showtime_id, version, holds_available, seats, count_map,
                    template.head + seats + tail)


class _Templates:
    """The templates this process holds, by digest (content-addressed: a template is found only under the
    digest of what it was made from, so no change can leave a wrong one behind); at most SEATMAP_TEMPLATES,
    least recently used out. A sale changes seat states, not templates: they outlive every booking."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, MapTemplate] = OrderedDict()

    def get(self, digest: str) -> MapTemplate | None:
        with self._lock:
            template = self._items.get(digest)
            if template is not None:
                self._items.move_to_end(digest)
            return template

    def put(self, template: MapTemplate, limit: int) -> None:
        with self._lock:
            self._items[template.digest] = template
            self._items.move_to_end(template.digest)
            while len(self._items) > limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


templates = _Templates()


def _read_live(showtime_id: int, client: redis.Redis | None, guard: Sequence[str] = ()) -> list[Any]:
    keys = [hash_key(showtime_id), gen_key(showtime_id), global_gen_key(showtime_id), version_key(showtime_id),
            expiry_key(showtime_id)]
    return scripts.run_guarded("seat_view", keys, [f"{showtime_prefix(showtime_id)}hold:"], guard, client)


def seat_view(showtime_id: int, viewer: str | None = None, client: redis.Redis | None = None,
              guard: Sequence[str] = ()) -> SeatView:
    """The live map of a showtime for `viewer` (their holds marked `mine`); `guard`: the viewer's token
    revocation keys, checked in the same step (scripts.run_guarded). Raises NotFound, GuardRefused."""
    try:
        live = _read_live(showtime_id, client, guard)
        if live[0] != 1:  # the facts copy is missing or outdated: refill it (or wait for it), read again
            facts.fill(showtime_id, str(live[1]), client)
            live = _read_live(showtime_id, client)
    except PoolExhausted:
        raise  # the server is full, Redis is fine: shed this request (503), do not add a database read
    except redis.RedisError as exc:
        log.warning("seat map of showtime %s without holds: redis unavailable (%s)", showtime_id, exc)
        template = MapTemplate.load(showtime_id)
        return render(template, template.db_taken, {}, viewer, None, False)
    held = dict(member.split("|", 1) for member in live[5].split(",")) if live[5] else {}
    if live[0] != 1 and not live[2]:  # still no copy at all (the refill raced a change): the database's states
        template = MapTemplate.load(showtime_id)
        return render(template, template.db_taken, held, viewer, int(live[4]), True)
    cached = templates.get(str(live[2]))
    if cached is None:
        # The digest is the facts copy's; a template read now is at least as new as that copy (a change
        # since then has its own digest, and the next fill names it).
        cached = MapTemplate.load(showtime_id)
        templates.put(cached, int(current_app.config.get("SEATMAP_TEMPLATES", 256)))
    if live[0] != 1:
        # A change outdated the copy while we refilled: the states come from the database, read after the
        # version was (never older than it); the template is the copy's (a sale changes none; a price or
        # layout edit racing this one read shows on the next).
        return render(cached, facts.taken_seats(showtime_id), held, viewer, int(live[4]), True)
    return render(cached, json.loads(live[3]) if live[3] else {}, held, viewer, int(live[4]), True)


def live_seat_map(showtime_id: int, viewer: str | None = None) -> dict[str, Any]:
    """The seat map as a dict of the documented shape (SeatMapSchema)."""
    return json.loads(seat_view(showtime_id, viewer).body)
