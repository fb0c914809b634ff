"""The seat rules that look at a seat's neighbours, in Python: no stranded single seat, and a companion
seat only beside its wheelchair space. The hold script applies the same rules atomically (lua_lock.py);
this module is their mirror for what is decided outside it: the suggestions of an `orphan_seat` refusal,
the blocks best-available tries, and the rare lock that the script runs without the seat facts.

Geometry: a row is cut into runs by its ends and by missing seats (aisles, gaps in the layout); seats are
neighbours when they are in one run with consecutive numbers. A seat is taken when it is booked, blocked
or held by anyone; the seats being locked count as taken.

- A selection strands a seat when an empty neighbour of a selected seat has, on its other side, a taken
  seat or the run's end, unless that seat is the last empty seat of its run (the last seats of a row are
  always sold), a wheelchair space or companion seat (sold to their own buyers), or the theatre allows
  single-seat gaps. A selection that fills a gap exactly strands nothing.
- A companion seat may be held only together with (or by the holder of) a wheelchair space beside it,
  until the release time before the show, after which both kinds are sold to anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.models.seating import SEAT_LABEL

WHEELCHAIR, COMPANION = "w", "c"


def split(label: str) -> tuple[str, int]:
    match = SEAT_LABEL.match(label)
    if match is None:
        raise ValueError(f"not a seat label: {label!r}")
    return match[1], int(match[2])


@dataclass
class Hall:
    """What the rules need of a showtime at one moment: its seats, their kinds and which are taken."""

    seats: set[str]
    kinds: dict[str, str]  # label -> WHEELCHAIR / COMPANION, for the marked seats only
    taken: set[str]  # booked, blocked or held by anyone
    holders: dict[str, str]  # label -> holder id, for held seats

    def neighbour(self, label: str, step: int) -> str | None:
        row, number = split(label)
        other = f"{row}{number + step}"
        return other if other in self.seats else None

    def empty(self, label: str | None, chosen: set[str]) -> bool:
        return label is not None and label not in self.taken and label not in chosen

    def run_of(self, label: str) -> list[str]:
        """The seats of label's run (between row ends and missing seats), left to right."""
        left = label
        while (prev := self.neighbour(left, -1)) is not None:
            left = prev
        run = [left]
        while (nxt := self.neighbour(run[-1], 1)) is not None:
            run.append(nxt)
        return run


def stranded(hall: Hall, chosen: Iterable[str]) -> list[str]:
    """The seats this selection would leave as single empty seats (in row order), [] when none."""
    picked = set(chosen)
    lonely: set[str] = set()
    for label in picked:
        for step in (-1, 1):
            seat = hall.neighbour(label, step)
            if seat is None or not hall.empty(seat, picked) or seat in hall.kinds:
                continue  # a wheelchair space or companion seat left empty is sold to its own buyers
            if hall.empty(hall.neighbour(seat, step), picked):
                continue
            if [s for s in hall.run_of(seat) if hall.empty(s, picked)] == [seat]:
                continue  # the last empty seat of its run: nothing better can be made of it
            lonely.add(seat)
    return sorted(lonely, key=split)


def lone_companions(hall: Hall, chosen: Iterable[str], user_id: str) -> list[str]:
    """The companion seats of this selection with no wheelchair space beside them in the selection or
    held by `user_id` (in row order)."""
    picked = set(chosen)
    alone = []
    for label in picked:
        if hall.kinds.get(label) != COMPANION:
            continue
        beside = [hall.neighbour(label, -1), hall.neighbour(label, 1)]
        if not any(s is not None and hall.kinds.get(s) == WHEELCHAIR
                   and (s in picked or hall.holders.get(s) == user_id) for s in beside):
            alone.append(label)
    return sorted(alone, key=split)


def wheelchairs_beside(hall: Hall, labels: Iterable[str]) -> list[str]:
    found = {s for label in labels for s in (hall.neighbour(label, -1), hall.neighbour(label, 1))
             if s is not None and hall.kinds.get(s) == WHEELCHAIR}
    return sorted(found, key=split)


def blocks(hall: Hall, count: int, usable: Callable[[str], bool], rows: set[str] | None = None) -> list[list[str]]:
    """Every run of `count` consecutive empty, usable seats that strands no seat, row by row (only these
    `rows` when given)."""
    found: list[list[str]] = []
    starts = sorted((s for s in hall.seats if hall.neighbour(s, -1) is None and (rows is None or s[0] in rows)),
                    key=split)
    for start in starts:
        run = hall.run_of(start)
        for i in range(len(run) - count + 1):
            block = run[i:i + count]
            if all(hall.empty(s, set()) and usable(s) for s in block) and not stranded(hall, block):
                found.append(block)
    return found


def suggestions(hall: Hall, chosen: list[str], usable: Callable[[str], bool], limit: int = 2,
                valid: Callable[[list[str]], bool] = lambda block: True) -> list[list[str]]:
    """Up to `limit` selections of as many seats, in the rows of `chosen`, that strand nothing (and pass
    `valid`): nearest first."""
    rows = {split(s)[0] for s in chosen}
    centre = sum(split(s)[1] for s in chosen) / len(chosen)
    candidates = [b for b in blocks(hall, len(chosen), usable, rows) if valid(b)]
    candidates.sort(key=lambda b: (abs(sum(split(s)[1] for s in b) / len(b) - centre), split(b[0])))
    return candidates[:limit]
