"""Seat hold routes: lock, unlock, extend and inspect Redis holds on a showtime's seats."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.api.docs import error_responses
from app.extensions import account_key, config_limit, limiter
from app.hotpath.holds_work import hold_body, hold_seats, plain_seat_ids, release_seats
from app.hotpath.revocation_step import revocation_checked_in_step
from app.schemas.holds import BestSeatsSchema, HoldsSchema, InspectArgs, InspectSchema, ReleasedSchema, SeatIdsSchema
from app.services import accounts_admin
from app.services.seats import holds, seat_rules
from app.services.waiting_room import room
from app.services.waiting_room.passes import QUEUE_PASS_HEADER

blp = Blueprint("holds", __name__, url_prefix="/api", description="Seat holds (Redis locks with a TTL)")

_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _errors(*statuses: int):  # type: ignore[no-untyped-def]
    descriptions = {
        401: "unauthorized: no or bad bearer token",
        403: "not_holder: a seat is held by someone else (details.seat_ids); sales_not_open (details.opens_at); "
             "queue_pass_required: the showtime's waiting room is on and X-Queue-Pass is missing, not yours, "
             "expired or used (details.reason)",
        404: "showtime_not_found",
        409: "seat_taken (details.seat_ids), orphan_seat (details.seats: the seat it would strand; "
             "details.suggestions: seat sets that would be accepted), companion_requires_wheelchair "
             "(details.wheelchair_spaces), seat_limit_exceeded (this showtime), hold_limit_exceeded (all "
             "showtimes), hold_deadline_reached (details.seat_ids, details.retry_at: held as long as one may), "
             "hold_expired, renewal_limit_reached, showtime_cancelled, showtime_started",
        422: "validation_error, invalid_seat_ids, unknown_seats (details.seat_ids), too_many_seats",
        503: "redis_unavailable: the lock store does not answer; nothing was held",
    }

    return error_responses(blp, {status: descriptions[status] for status in statuses})


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


LOCK_RULE = "/showtimes/<int:showtime_id>/redis-lock-seats"
UNLOCK_RULE = "/showtimes/<int:showtime_id>/redis-unlock-seats"


# Lock and unlock check the token's revocation inside their hold script (one Redis round trip a request);
# app.hotpath.revocation_step explains how every other path still gets the usual check.
# app/hotpath/lane.py answers the plain requests of both routes before Flask's dispatch, with the same
# functions; these views answer everything else.
@blp.route(LOCK_RULE, methods=["POST"])
@revocation_checked_in_step
@jwt_required()
@blp.doc(security=_SECURITY)
@_seat_ids_body
@blp.response(200, HoldsSchema)
@_errors(401, 403, 404, 409, 422, 503)
def lock_seats(body: dict[str, Any], showtime_id: int) -> Response:
    """Hold the named seats for the caller, all or none, for SEAT_LOCK_TTL_MS."""
    return jsonify(hold_seats(showtime_id, get_jwt_identity(), body["seat_ids"],
                              queue_pass=request.headers.get(QUEUE_PASS_HEADER)))


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


@blp.route("/showtimes/<int:showtime_id>/best-seats", methods=["POST"])
@jwt_required()
@limiter.limit(config_limit("RATE_LIMIT_BEST_SEATS_PER_ACCOUNT"), key_func=account_key)
@limiter.limit(config_limit("RATE_LIMIT_BEST_SEATS_PER_IP"))
@blp.doc(security=_SECURITY)
@blp.arguments(BestSeatsSchema, error_status_code=422)
@blp.response(200, HoldsSchema)
@error_responses(blp, {401: "unauthorized", 403: "not_holder, sales_not_open, queue_pass_required", 404:
                       "showtime_not_found", 409: "no_block_available (details.split: the best two blocks that "
                       "would seat the party), seat_limit_exceeded, hold_limit_exceeded, showtime_cancelled, "
                       "showtime_started", 422: "validation_error", 429: "rate_limited",
                       503: "redis_unavailable"})
def best_seats(body: dict[str, Any], showtime_id: int) -> Response:
    """Hold the best block of `count` seats together for the caller (rows about two thirds back, the
    centre of the row, never stranding a seat), answered like a lock."""
    user_id = get_jwt_identity()
    queue_pass = request.headers.get(QUEUE_PASS_HEADER)
    room.require_pass(showtime_id, user_id, queue_pass)  # before any work: the lock checks it again
    return seat_rules.best_seats(
        showtime_id, user_id, body["count"], section=body.get("section"), accessible=body["accessible"],
        lock=lambda labels: jsonify(hold_seats(showtime_id, user_id, labels, queue_pass=queue_pass)),
        holders=lambda: holds.held_by(showtime_id))


@blp.route("/showtimes/<int:showtime_id>/redis-extend-locks", methods=["POST"])
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.arguments(SeatIdsSchema, error_status_code=422)
@blp.response(200, HoldsSchema)
@_errors(401, 403, 404, 409, 422, 503)
def extend_locks(body: dict[str, Any], showtime_id: int) -> dict[str, Any]:
    """Renew the caller's holds on the named seats to a full TTL from now."""
    room.require_pass(showtime_id, get_jwt_identity(), request.headers.get(QUEUE_PASS_HEADER))
    return hold_body(holds.extend(showtime_id, get_jwt_identity(), body["seat_ids"], limit_renewals=True))


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
