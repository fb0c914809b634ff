"""Seat events for the WebSocket clients: published through Redis, versioned per showtime.

Every event is one JSON message on the `P:events` channel (on a Redis Cluster, on the showtime's shard
channel `P:{st:N}:events`, SPUBLISHed):
`{"type": "seat_locked" | "seat_released" | "seat_booked" | "seat_update", "showtime_id": N,
  "seat_ids": [...], "version": V}` where V comes from an INCR per showtime run in the same Lua step as
the PUBLISH, so versions of a showtime are strictly increasing in the order subscribers receive them.
The hold scripts (app.services.seats.scripts) publish their own events that way; other services call publish().
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from app.services.seats import holds
from app.services.seats.keys import events_channel
from app.services.seats.seatmap import seat_view


def channel(showtime_id: int | None = None) -> str:
    """The Redis channel carrying a showtime's seat events: on a single Redis one channel for every showtime,
    on a cluster the showtime's shard channel (app.realtime.shards)."""
    return events_channel(showtime_id if showtime_id is not None else 0)


def publish(showtime_id: int, event: str, seat_ids: Iterable[str]) -> int:
    """Publish a versioned seat event (e.g. `seat_booked` once a booking commits); returns its version.

    Raises ValueError for an unknown event type, ValidationError for malformed seat ids and redis errors
    when the store is down (callers that commit first should log and carry on: clients re-sync).
    """
    return holds.publish(showtime_id, event, seat_ids)


def parse_event(raw: str) -> tuple[int, int] | None:
    """(showtime id, version) of a published event, or None for anything else on the channel."""
    try:
        event = json.loads(raw)
        return int(event["showtime_id"]), int(event["version"])
    except (ValueError, KeyError, TypeError):
        return None


def snapshot_message(showtime_id: int, viewer: str | None = None) -> tuple[int | None, str]:
    """The first WebSocket message, encoded, and the version it reflects: every seat's status, no holder
    ids (`{"type": "snapshot", "showtime_id", "version", "holds_available", "seats", "counts"}`).

    With Redis down the seats come from the database alone, `holds_available` is false and `version`
    is null; the client gets a fresh snapshot once the subscriber is back. Raises NotFound.
    """
    view = seat_view(showtime_id, viewer=viewer)
    text = (b'{"type":"snapshot","showtime_id":' + str(view.showtime_id).encode() + b',"version":'
            + json.dumps(view.version).encode() + b',"holds_available":' + json.dumps(view.holds_available).encode()
            + b',"seats":[' + view.seats + b'],"counts":' + json.dumps(view.counts, separators=(",", ":")).encode()
            + b"}")
    return view.version, text.decode()
