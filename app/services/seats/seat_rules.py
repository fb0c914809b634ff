"""The neighbour rules of a lock as the buyer meets them: the refusals the hold script answers
(`orphan_seat` with suggestions that would be accepted, `companion_requires_wheelchair`), the same check
for the rare lock that runs without the seat facts, and best available (the best block, held at once).

The rules themselves are app.services.seats.adjacency (Python) and lock_script.SEAT_RULES (Lua, the one
that decides, against the state at the moment of the lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.appctx import this_app
from app.errors import Conflict
from app.extensions import get_redis
from app.services.seats import adjacency, facts, rules
from app.services.seats.adjacency import COMPANION, WHEELCHAIR, Hall
from app.services.seats.keys import hash_key
from app.services.seats.lock_script import COMPANION_ALONE, ORPHAN_SEAT

REFUSALS = (ORPHAN_SEAT, COMPANION_ALONE)


Holders = Callable[[], dict[str, str]]  # the showtime's live holds, label -> holder (holds.held_by)


def _hall(showtime_id: int, holders: Holders) -> tuple[facts.ShowtimeRows, Hall]:
    rows = facts.read_showtime(showtime_id)
    return rows, rows.hall(holders=holders())


def _kinds_open(rows: facts.ShowtimeRows) -> bool:
    """Whether companion seats and wheelchair spaces are sold to anyone by now."""
    release_before = int(this_app().config["COMPANION_RELEASE_BEFORE_S"])
    return time.time() >= rows.starts_at.timestamp() - release_before


def _usable(hall: Hall, marked_too: bool) -> Any:
    """Which seats a suggestion or a best-available block may use: every seat when marked seats may be
    given (an accessible request, a request for marked seats, or after the release time), else the
    unmarked ones."""
    if marked_too:
        return lambda label: True
    return lambda label: label not in hall.kinds


def _cached_hall(showtime_id: int, holders: Holders) -> tuple[Hall, bool] | None:
    """The hall from the lock's own copy of the seat facts (one Redis read, no query; None when there is
    none), and whether companion seats and wheelchair spaces are sold to anyone by now."""
    fields: dict[str, str] = get_redis().hgetall(hash_key(showtime_id))  # type: ignore[assignment]
    if "#rules" not in fields:
        return None
    seats = {k for k in fields if k[:1] not in ("#", "^")}
    kinds = {k[1:]: v for k, v in fields.items() if k.startswith("^")}
    taken = {k for k in seats if fields[k] != rules.SELLABLE_SEAT_STATE.value}
    live = holders()
    release_ms = int(fields["#rules"].split(",")[1])
    return Hall(seats, kinds, taken | set(live), live), time.time() * 1000 >= release_ms


def refusal(showtime_id: int, user_id: str, labels: list[str], code: int, seats: list[str],
            holders: Holders) -> Conflict:
    """The error for a SEAT_RULES refusal of the lock script. Made from the seat facts' Redis copy, which the
    script has just read (the database only when it is gone), for the rows of the selection only."""
    cached = _cached_hall(showtime_id, holders)
    if cached is None:
        rows, hall = _hall(showtime_id, holders)
        kinds_open = _kinds_open(rows)
    else:
        hall, kinds_open = cached
    if code == COMPANION_ALONE:
        return Conflict("A companion seat is sold with the wheelchair space beside it: hold both together.",
                        code="companion_requires_wheelchair",
                        details={"showtime_id": showtime_id, "seat_ids": seats,
                                 "wheelchair_spaces": adjacency.wheelchairs_beside(hall, seats)})
    suggested = adjacency.suggestions(
        hall, labels, _usable(hall, kinds_open or any(s in hall.kinds for s in labels)),
        valid=lambda block: kinds_open or not adjacency.lone_companions(hall, block, user_id))
    return Conflict(f"This choice would leave {', '.join(seats)} as a single empty seat; choose seats next to "
                    "each other or to the row's end.", code="orphan_seat",
                    details={"showtime_id": showtime_id, "seat_ids": labels, "seats": seats,
                             "suggestions": suggested})


def check_in_database(showtime_id: int, user_id: str, labels: list[str], holders: Holders) -> None:
    """The seat rules for a lock the script runs without the seat facts (they changed while being read):
    against the database and the live holds, a moment before the lock rather than in its step."""
    rows, hall = _hall(showtime_id, holders)
    if not _kinds_open(rows) and (alone := adjacency.lone_companions(hall, labels, user_id)):
        raise refusal(showtime_id, user_id, labels, COMPANION_ALONE, alone, holders)
    if not rows.gaps_allowed and (lonely := adjacency.stranded(hall, labels)):
        raise refusal(showtime_id, user_id, labels, ORPHAN_SEAT, lonely, holders)


# ---- best available ------------------------------------------------------------------------------

ATTEMPTS = 24  # blocks tried before giving up: in a rush every racer first tries the same best block
REREAD_EVERY = 4  # a fresh look at the seats after this many blocks lost (in between, a lost block is
# marked taken in the look we have, so the next try is the next block, not a read)


def ranked_blocks(rows: facts.ShowtimeRows, hall: Hall, count: int, section: str | None = None,
                  accessible: bool = False) -> list[list[str]]:
    """Candidate blocks, best first: rows about two thirds back, then the centre of the row."""
    in_section = {s[0] for s in rows.seats if section is None or s[3] == section}
    usable = _usable(hall, accessible or _kinds_open(rows))
    found = adjacency.blocks(hall, count, lambda label: label in in_section and usable(label))
    if accessible:  # a wheelchair space in the block, its companion seats beside it
        found = [b for b in found if any(hall.kinds.get(s) == WHEELCHAIR for s in b)
                 and not adjacency.lone_companions(hall, b, "")]
    elif not _kinds_open(rows):
        found = [b for b in found if not any(hall.kinds.get(s) == COMPANION for s in b)]
    order = rows.layout.get("rows") or sorted({s[1] for s in rows.seats})
    ideal = (len(order) - 1) * 2 / 3
    widths: dict[str, int] = {}
    for seat in rows.seats:
        widths[seat[1]] = max(widths.get(seat[1], 0), seat[2])

    def score(block: list[str]) -> tuple[float, float, str]:
        row = adjacency.split(block[0])[0]
        middle = sum(adjacency.split(s)[1] for s in block) / len(block)
        return (abs(order.index(row) - ideal) if row in order else 99.0,
                abs(middle - (widths.get(row, 0) + 1) / 2), block[0])

    return sorted(found, key=score)


def best_split(rows: facts.ShowtimeRows, hall: Hall, count: int, section: str | None,
               accessible: bool) -> list[list[str]]:
    """The best two blocks that together seat `count` (largest first), [] when even that cannot be done."""
    for first in range(count - 1, 0, -1):
        big = ranked_blocks(rows, hall, first, section, accessible)
        for block in big[:3]:  # a few of the best only: this runs when the house is nearly full
            hall.taken.update(block)
            rest = ranked_blocks(rows, hall, count - first, section, accessible)
            hall.taken.difference_update(block)
            if rest:
                return [block, rest[0]]
    return []


def best_seats(showtime_id: int, user_id: str, count: int, *, section: str | None = None, accessible: bool = False,
               lock: Callable[[list[str]], Any], holders: Holders) -> Any:
    """Hold the best block of `count` seats for the user (`lock(labels)` holds them, atomically, with every
    rule); a block someone took meanwhile makes way for the next. Raises Conflict `no_block_available`
    (details.split: the best two blocks that would seat the party) when no block is left."""
    tried: set[tuple[str, ...]] = set()
    looked = -REREAD_EVERY
    for attempt in range(ATTEMPTS):
        if attempt - looked >= REREAD_EVERY:
            looked = attempt
            rows, hall = _hall(showtime_id, holders)  # one's own holds count as taken, as in the lock script
        candidates = [b for b in ranked_blocks(rows, hall, count, section, accessible) if tuple(b) not in tried]
        if not candidates:
            if looked == attempt:
                break  # even a fresh look has no block left
            looked = attempt
            rows, hall = _hall(showtime_id, holders)
            candidates = [b for b in ranked_blocks(rows, hall, count, section, accessible) if tuple(b) not in tried]
            if not candidates:
                break
        block = candidates[0]
        tried.add(tuple(block))
        try:
            return lock(block)
        except Conflict as exc:
            if exc.code not in ("seat_taken", "orphan_seat"):
                raise
            hall.taken.update(block)  # someone holds (part of) it now
    rows, hall = _hall(showtime_id, holders)
    split = best_split(rows, hall, count, section, accessible)
    raise Conflict(f"No block of {count} seats together is left" + (f" in {section}." if section else "."),
                   code="no_block_available",
                   details={"showtime_id": showtime_id, "count": count, "section": section, "split": split})
