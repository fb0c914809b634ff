"""The seat map of a showtime: the database inventory, overlaid with live holds."""

from __future__ import annotations

import logging
from typing import Any

import redis

from app.models import SeatState, Showtime
from app.services.catalogue import showtime_seats
from app.services.seats import holds

log = logging.getLogger(__name__)


def seat_map(showtime: Showtime, held: dict[str, str] | None = None, viewer: str | None = None) -> dict[str, Any]:
    """Every seat with its status: booked and blocked from the database, locked from `held`
    (seat label -> holder id); `mine` marks the viewer's own holds."""
    held = held or {}
    layout = showtime.screen.layout
    seats = []
    counts = {"available": 0, "locked": 0, "booked": 0, "blocked": 0}
    section_price: dict[str, int] = {}
    for seat in showtime_seats(showtime.id):
        if seat.state == SeatState.BOOKED:
            status = "booked"
        elif seat.state == SeatState.BLOCKED:
            status = "blocked"
        elif seat.label in held:
            status = "locked"
        else:
            status = "available"
        counts[status] += 1
        section_price.setdefault(seat.section, seat.price)
        seats.append({
            "id": seat.label, "row": seat.row, "number": seat.number, "section": seat.section,
            "price": seat.price, "status": status, "accessible": seat.accessible,
            "companion": seat.companion,
            "mine": status == "locked" and viewer is not None and held.get(seat.label) == viewer,
        })
    sections = [
        {"name": s["name"], "label": s.get("label", s["name"].title()), "rows": s["rows"],
         "price": section_price.get(s["name"], s["price"])}
        for s in layout["sections"]
    ]
    return {
        "showtime_id": showtime.id, "currency": "INR", "rows": layout["rows"],
        "seats_per_row": layout["seats_per_row"], "sections": sections, "seats": seats, "counts": counts,
    }


def live_seat_map(showtime: Showtime, viewer: str | None = None) -> dict[str, Any]:
    """The seat map with the showtime's live holds and event version.

    With Redis down it still answers from the database: holds are unknown, `holds_available` is false
    and `version` is null.
    """
    try:
        version, held = holds.snapshot(showtime.id)
        available = True
    except redis.RedisError as exc:
        log.warning("seat map of showtime %s without holds: redis unavailable (%s)", showtime.id, exc)
        version, held, available = None, {}, False
    body = seat_map(showtime, held=held, viewer=viewer)
    body["holds_available"] = available
    body["version"] = version
    return body
