"""Seat hold routes: lock, unlock, extend and inspect Redis holds on a showtime's seats."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.extensions import db
from app.models import User
from app.schemas.common import ErrorBody
from app.schemas.holds import HoldsSchema, InspectArgs, InspectSchema, ReleasedSchema, SeatIdsSchema
from app.services import holds

blp = Blueprint("holds", __name__, url_prefix="/api", description="Seat holds (Redis locks with a TTL)")

_SECURITY = [{"bearerAuth": []}]


def _errors(*statuses: int):  # type: ignore[no-untyped-def]
    descriptions = {
        401: "unauthorized: no or bad bearer token",
        403: "not_holder: a seat is held by someone else (details.seat_ids)",
        404: "showtime_not_found",
        409: "seat_taken (details.seat_ids), seat_limit_exceeded, hold_expired, renewal_limit_reached, "
             "showtime_cancelled, "
             "showtime_started",
        422: "validation_error, invalid_seat_ids, unknown_seats (details.seat_ids), too_many_seats",
        503: "redis_unavailable: the lock store does not answer; nothing was held",
    }

    def decorate(fn):  # type: ignore[no-untyped-def]
        for status in statuses:
            fn = blp.alt_response(status, schema=ErrorBody, description=descriptions[status])(fn)
        return fn

    return decorate


def _hold_body(result: holds.HoldResult) -> dict[str, Any]:
    return {"showtime_id": result.showtime_id, "seat_ids": result.seat_ids, "expires_at": result.expires_at,
            "ttl_ms": int(current_app.config["SEAT_LOCK_TTL_MS"]), "holds": result.holds}


@blp.route("/showtimes/<int:showtime_id>/redis-lock-seats", methods=["POST"])
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.arguments(SeatIdsSchema, error_status_code=422)
@blp.response(200, HoldsSchema)
@_errors(401, 404, 409, 422, 503)
def lock_seats(body: dict[str, Any], showtime_id: int) -> dict[str, Any]:
    """Hold the named seats for the caller, all or none, for SEAT_LOCK_TTL_MS."""
    return _hold_body(holds.lock(showtime_id, get_jwt_identity(), body["seat_ids"]))


@blp.route("/showtimes/<int:showtime_id>/redis-unlock-seats", methods=["POST"])
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.arguments(SeatIdsSchema, error_status_code=422)
@blp.response(200, ReleasedSchema)
@_errors(401, 403, 404, 422, 503)
def unlock_seats(body: dict[str, Any], showtime_id: int) -> dict[str, Any]:
    """Release the caller's holds on the named seats (seats held by nobody are ignored)."""
    released = holds.release(showtime_id, get_jwt_identity(), body["seat_ids"])
    return {"showtime_id": showtime_id, "seat_ids": body["seat_ids"], "released": released}


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
    user = db.session.get(User, int(viewer)) if str(viewer).isdigit() else None
    staff = user is not None and user.is_active and user.is_staff
    return {"showtime_id": showtime_id, "seats": [
        {"seat_id": s.seat_id, "held": s.held, "mine": s.holder_id == viewer, "ttl_ms": s.ttl_ms,
         "expires_at": s.expires_at, **({"holder_id": s.holder_id} if staff else {})}
        for s in seats
    ]}
