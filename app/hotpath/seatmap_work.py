"""The seat map route's answer, shared by the view (app/api/catalogue.py) and the lane (lane.py), so the
two cannot drift apart: the map's bytes as seatmap.py renders them (no dump), its ETag, and 304 when the
client already holds those bytes. The caller's token is checked for revocation inside the map's one Redis
step (revocation_step.with_revocation_guard), as the hold routes do."""

from __future__ import annotations

from typing import Any

from werkzeug.http import parse_etags

from app.hotpath.revocation_step import with_revocation_guard
from app.services.seats.seatmap import seat_view


def seat_map_answer(showtime_id: int, viewer: str | None, if_none_match: str | None, private: bool,
                    payload: dict[str, Any] | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of the seat map for `viewer`; `payload`: the token decoded by the lane
    (None inside the view, whose decorator left the revocation check pending). Raises as seat_view does,
    and Unauthorized for a revoked token."""
    # holds_available is false only when Redis did not answer: the guard never ran, the full check does
    view = with_revocation_guard(lambda guard: seat_view(showtime_id, viewer, guard=guard), payload,
                                 guard_ran=lambda view: view.holds_available)
    etag = view.etag
    headers = [("ETag", f'"{etag}"'), ("Cache-Control", "private, no-cache" if private else "no-cache"),
               ("Vary", "Authorization")]
    if if_none_match and parse_etags(if_none_match).contains_weak(etag):  # weak comparison (RFC 9110 13.1.2)
        return 304, headers, b""
    return 200, [*headers, ("Content-Type", "application/json"), ("Content-Length", str(len(view.body)))], view.body
