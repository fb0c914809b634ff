"""The waiting room: buyers join a showtime's queue and get a pass; staff set up the on-sale.

    POST   /api/showtimes/<id>/queue      join (or find one's place again): 200 admitted, 202 waiting / pre_queue
    GET    /api/showtimes/<id>/queue      one's place now
    DELETE /api/showtimes/<id>/queue      leave, or give the admission back
    GET|PUT /api/admin/showtimes/<id>/waiting-room   staff: the settings (audited)

The live version of GET is the socket `WS /api/showtimes/<id>/queue/ws` (app/realtime/queue_ws.py).
"""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.api.auth import current_staff, staff_required
from app.api.docs import error_responses
from app.extensions import account_key, config_limit, limiter
from app.schemas.waiting_room import QueueStateSchema, WaitingRoomSchema, WaitingRoomSettingsSchema
from app.services.uow import transaction
from app.services.waiting_room import gauges, room  # noqa: F401  (gauges: the queue gauges in /metrics)

blp = Blueprint("waiting_room", __name__, url_prefix="/api",
                description="Waiting rooms: the queue in front of a showtime's sale, and its settings")

_AUTH = "unauthorized, invalid_token, token_expired, token_revoked, account_inactive"
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _queue_route(fn):  # type: ignore[no-untyped-def]
    fn = limiter.limit(config_limit("RATE_LIMIT_QUEUE_PER_ACCOUNT"), key_func=account_key)(fn)
    fn = limiter.limit(config_limit("RATE_LIMIT_QUEUE_PER_IP"))(fn)
    fn = blp.doc(security=_SECURITY)(fn)
    return jwt_required()(fn)


def _answer(state: room.QueueState) -> tuple[dict[str, Any], int]:
    return state.body, 200 if state.state == "admitted" else 202


@blp.route("/showtimes/<int:showtime_id>/queue", methods=["POST"])
@_queue_route
@blp.response(200, QueueStateSchema, description="admitted: the pass and when it expires")
@blp.alt_response(202, schema=QueueStateSchema, description="waiting (position, estimated_wait_s, ticket) or "
                                                            "pre_queue (opens_at): keep the socket open or poll GET")
@error_responses(blp, {401: _AUTH, 404: "showtime_not_found", 409: "waiting_room_off",
                       429: "rate_limited (per address, per account)", 503: "redis_unavailable, server_busy"})
def join_queue(showtime_id: int) -> Any:
    """Join the showtime's waiting room, or find one's place again (one entry per account)."""
    return _answer(room.join(showtime_id, get_jwt_identity()))


@blp.route("/showtimes/<int:showtime_id>/queue", methods=["GET"])
@_queue_route
@blp.response(200, QueueStateSchema, description="admitted")
@blp.alt_response(202, schema=QueueStateSchema, description="waiting or pre_queue")
@error_responses(blp, {401: _AUTH, 404: "showtime_not_found, not_in_queue", 409: "waiting_room_off",
                       429: "rate_limited", 503: "redis_unavailable, server_busy"})
def queue_state(showtime_id: int) -> Any:
    """One's place in the showtime's waiting room now."""
    return _answer(room.status(showtime_id, get_jwt_identity()))


@blp.route("/showtimes/<int:showtime_id>/queue", methods=["DELETE"])
@_queue_route
@blp.response(204)
@error_responses(blp, {401: _AUTH, 404: "showtime_not_found", 429: "rate_limited",
                       503: "redis_unavailable, server_busy"})
def leave_queue(showtime_id: int) -> None:
    """Leave the queue, or give one's admission back to the next in line (idempotent)."""
    room.leave(showtime_id, get_jwt_identity())


@blp.route("/admin/showtimes/<int:showtime_id>/waiting-room", methods=["GET"])
@staff_required()
@blp.doc(security=_SECURITY, tags=["admin"])
@blp.response(200, WaitingRoomSchema)
@error_responses(blp, {401: _AUTH, 403: "staff_only", 404: "showtime_not_found"})
def get_waiting_room(showtime_id: int) -> dict[str, Any]:
    """The showtime's on-sale settings and how many wait or hold a pass now."""
    return room.settings(showtime_id)


@blp.route("/admin/showtimes/<int:showtime_id>/waiting-room", methods=["PUT"])
@staff_required()
@blp.doc(security=_SECURITY, tags=["admin"])
@blp.arguments(WaitingRoomSettingsSchema, error_status_code=422)
@blp.response(200, WaitingRoomSchema)
@error_responses(blp, {401: _AUTH, 403: "staff_only", 404: "showtime_not_found", 409: "showtime_cancelled",
                       422: "validation_error, sales_open_after_start"})
def put_waiting_room(body: dict[str, Any], showtime_id: int) -> dict[str, Any]:
    """Set up the showtime's on-sale: the opening time, the waiting room and its pace (audited)."""
    with transaction():
        room.configure(current_staff(), showtime_id, body)
    return room.settings(showtime_id)
