"""The lock and unlock routes' work and answer bodies, shared by the views (app/api/holds.py) and the lane
(lane.py), so the two cannot drift apart.

Lock and unlock are the hot routes (bench/RESULTS.md): their JSON in and out skips marshmallow when the
answer is plain, with the same result. The schemas stay the documentation and the judge of every body the
fast path does not accept outright, so every 422 is still the schema's; tests/api/test_holds_api.py
compares both paths.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from app import metrics
from app.errors import AppError, PoolExhausted
from app.hotpath.revocation_step import with_revocation_guard
from app.models.seating import SEAT_LABEL
from app.services.seats import holds


def hold_body(result: holds.HoldResult) -> dict[str, Any]:
    return {"showtime_id": result.showtime_id, "seat_ids": result.seat_ids, "expires_at": result.expires_at,
            "ttl_ms": int(current_app.config["SEAT_LOCK_TTL_MS"]), "holds": result.holds}


def plain_seat_ids(data: Any, maximum: int) -> dict[str, Any] | None:
    """What SeatIdsSchema would load from data when it is plainly valid ({"seat_ids": [1..maximum
    distinct seat labels]}, nothing else); None for anything else, left to the schema."""
    if type(data) is not dict or len(data) != 1:
        return None
    seat_ids = data.get("seat_ids")
    if type(seat_ids) is not list or not seat_ids:
        return None
    for seat_id in seat_ids:
        if type(seat_id) is not str or SEAT_LABEL.match(seat_id) is None:
            return None
    distinct = list(dict.fromkeys(seat_ids))
    return {"seat_ids": distinct} if len(distinct) <= maximum else None


def dump_holds(body: dict[str, Any]) -> dict[str, Any]:
    """HoldsSchema().dump(body), written out (tests/api/test_holds_api.py checks they agree)."""
    return {"showtime_id": int(body["showtime_id"]), "seat_ids": [str(s) for s in body["seat_ids"]],
            "expires_at": body["expires_at"].isoformat(), "ttl_ms": int(body["ttl_ms"]),
            "holds": [{"seat_id": str(h["seat_id"]), "expires_at": h["expires_at"].isoformat()}
                      for h in body["holds"]]}


def dump_released(body: dict[str, Any]) -> dict[str, Any]:
    """ReleasedSchema().dump(body), written out (tests/api/test_holds_api.py checks they agree)."""
    return {"showtime_id": int(body["showtime_id"]), "seat_ids": [str(s) for s in body["seat_ids"]],
            "released": [str(s) for s in body["released"]]}


def hold_seats(showtime_id: int, user_id: str, seat_ids: list[str], payload: dict[str, Any] | None = None,
               queue_pass: str | None = None) -> dict[str, Any]:
    """The lock route's work and answer body, shared with app/hotpath/lane.py (`payload`: the token
    decoded there; None inside the view, whose decorators left it pending; `queue_pass`: the X-Queue-Pass
    header, checked in the lock script while the showtime's waiting room is enabled)."""
    try:
        result = with_revocation_guard(
            lambda guard: holds.lock(showtime_id, user_id, seat_ids, guard=guard, queue_pass=queue_pass), payload)
    except AppError as exc:
        metrics.SEAT_LOCKS_REFUSED.labels(exc.code).inc()
        raise
    except RedisError as exc:
        reason = "server_busy" if isinstance(exc, PoolExhausted) else "redis_unavailable"
        metrics.SEAT_LOCKS_REFUSED.labels(reason).inc()
        raise
    metrics.SEAT_LOCKS_GRANTED.inc()
    return dump_holds(hold_body(result))


def release_seats(showtime_id: int, user_id: str, seat_ids: list[str], payload: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The unlock route's work and answer body (as hold_seats)."""
    released = with_revocation_guard(lambda guard: holds.release(showtime_id, user_id, seat_ids, guard=guard),
                                     payload)
    return dump_released({"showtime_id": showtime_id, "seat_ids": seat_ids, "released": released})
