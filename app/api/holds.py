"""Seat hold routes: lock, unlock, extend and inspect Redis holds on a showtime's seats."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint
from redis.exceptions import RedisError

from app import metrics
from app.api.docs import error_responses
from app.errors import AppError
from app.models.seating import SEAT_LABEL
from app.schemas.holds import HoldsSchema, InspectArgs, InspectSchema, ReleasedSchema, SeatIdsSchema
from app.services import accounts_admin
from app.services.auth import revocation_checked_in_step, with_revocation_guard
from app.services.seats import holds

blp = Blueprint("holds", __name__, url_prefix="/api", description="Seat holds (Redis locks with a TTL)")

_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _errors(*statuses: int):  # type: ignore[no-untyped-def]
    descriptions = {
        401: "unauthorized: no or bad bearer token",
        403: "not_holder: a seat is held by someone else (details.seat_ids)",
        404: "showtime_not_found",
        409: "seat_taken (details.seat_ids), seat_limit_exceeded (this showtime), hold_limit_exceeded (all "
             "showtimes), hold_deadline_reached (details.seat_ids, details.retry_at: held as long as one may), "
             "hold_expired, renewal_limit_reached, showtime_cancelled, showtime_started",
        422: "validation_error, invalid_seat_ids, unknown_seats (details.seat_ids), too_many_seats",
        503: "redis_unavailable: the lock store does not answer; nothing was held",
    }

    return error_responses(blp, {status: descriptions[status] for status in statuses})


def _hold_body(result: holds.HoldResult) -> dict[str, Any]:
    return {"showtime_id": result.showtime_id, "seat_ids": result.seat_ids, "expires_at": result.expires_at,
            "ttl_ms": int(current_app.config["SEAT_LOCK_TTL_MS"]), "holds": result.holds}


# Lock and unlock are the hot routes (bench/RESULTS.md): their JSON in and out skips marshmallow when the
# answer is plain, with the same result. The schemas stay the documentation (the decorators below keep
# them in the OpenAPI spec) and the judge of every body the fast path does not accept outright, so every
# 422 is still the schema's; tests/api/test_holds_api.py compares both paths.

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


def _seat_ids_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """@blp.arguments(SeatIdsSchema, error_status_code=422), documented the same, with a fast path for
    plainly valid JSON bodies (plain_seat_ids); every other body goes through the schema."""
    documented = blp.arguments(SeatIdsSchema, error_status_code=422)(view)

    @functools.wraps(documented)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        body = (plain_seat_ids(request.get_json(silent=True), int(current_app.config["MAX_SEATS_PER_BOOKING"]))
                if request.is_json else None)
        if body is None:
            return documented(*args, **kwargs)
        return view(*args, body, **kwargs)  # webargs appends the parsed body to the positional arguments

    return wrapper


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


def hold_seats(showtime_id: int, user_id: str, seat_ids: list[str], payload: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    """The lock route's work and answer body, shared with app/api/hold_lane.py (`payload`: the token
    decoded there; None inside the view, whose decorators left it pending)."""
    try:
        result = with_revocation_guard(lambda guard: holds.lock(showtime_id, user_id, seat_ids, guard=guard), payload)
    except AppError as exc:
        metrics.SEAT_LOCKS_REFUSED.labels(exc.code).inc()
        raise
    except RedisError:
        metrics.SEAT_LOCKS_REFUSED.labels("redis_unavailable").inc()
        raise
    metrics.SEAT_LOCKS_GRANTED.inc()
    return dump_holds(_hold_body(result))


def release_seats(showtime_id: int, user_id: str, seat_ids: list[str], payload: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The unlock route's work and answer body (as hold_seats)."""
    released = with_revocation_guard(lambda guard: holds.release(showtime_id, user_id, seat_ids, guard=guard),
                                     payload)
    return dump_released({"showtime_id": showtime_id, "seat_ids": seat_ids, "released": released})


LOCK_RULE = "/showtimes/<int:showtime_id>/redis-lock-seats"
UNLOCK_RULE = "/showtimes/<int:showtime_id>/redis-unlock-seats"


# Lock and unlock check the token's revocation inside their hold script (one Redis round trip a request);
# app.services.auth.revocation_checked_in_step explains how every other path still gets the usual check.
# app/api/hold_lane.py answers the plain requests of both routes before Flask's dispatch, with the same
# functions; these views answer everything else.
@blp.route(LOCK_RULE, methods=["POST"])
@revocation_checked_in_step
@jwt_required()
@blp.doc(security=_SECURITY)
@_seat_ids_body
@blp.response(200, HoldsSchema)
@_errors(401, 404, 409, 422, 503)
def lock_seats(body: dict[str, Any], showtime_id: int) -> Response:
    """Hold the named seats for the caller, all or none, for SEAT_LOCK_TTL_MS."""
    return jsonify(hold_seats(showtime_id, get_jwt_identity(), body["seat_ids"]))


@blp.route(UNLOCK_RULE, methods=["POST"])
@revocation_checked_in_step
@jwt_required()
@blp.doc(security=_SECURITY)
@_seat_ids_body
@blp.response(200, ReleasedSchema)
@_errors(401, 403, 404, 422, 503)
def unlock_seats(body: dict[str, Any], showtime_id: int) -> Response:
    """Release the caller's holds on the named seats (seats held by nobody are ignored)."""
    return jsonify(release_seats(showtime_id, get_jwt_identity(), body["seat_ids"]))


@blp.route("/showtimes/<int:showtime_id>/redis-extend-locks", methods=["POST"])
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.arguments(SeatIdsSchema, error_status_code=422)
@blp.response(200, HoldsSchema)
@_errors(401, 403, 404, 409, 422, 503)
def extend_locks(body: dict[str, Any], showtime_id: int) -> dict[str, Any]:
    """Renew the caller's holds on the named seats to a full TTL from now."""
    return _hold_body(holds.extend(showtime_id, get_jwt_identity(), body["seat_ids"], limit_renewals=True))


@blp.route("/showtimes/<int:showtime_id>/redis-inspect-locks")
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.arguments(InspectArgs, location="query", error_status_code=422)
@blp.response(200, InspectSchema)
@_errors(401, 404, 422, 503)
def inspect_locks(args: dict[str, Any], showtime_id: int) -> dict[str, Any]:
    """Who holds the named seats (all held seats when none is named) and for how long; holder ids for staff."""
    viewer = get_jwt_identity()
    seats = holds.inspect(showtime_id, args.get("seat_ids"))
    staff = accounts_admin.is_staff(viewer)
    return {"showtime_id": showtime_id, "seats": [
        {"seat_id": s.seat_id, "held": s.held, "mine": s.holder_id == viewer, "ttl_ms": s.ttl_ms,
         "expires_at": s.expires_at, **({"holder_id": s.holder_id} if staff else {})}
        for s in seats
    ]}
