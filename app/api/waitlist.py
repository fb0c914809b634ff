"""The waiting list: join or leave a showtime's list, and see one's own entries."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.api.docs import error_responses
from app.schemas.waitlist import WaitlistArgs, WaitlistEntrySchema, WaitlistJoinSchema, WaitlistPage
from app.services import paging, waitlist
from app.services.uow import transaction

blp = Blueprint("waitlist", __name__, url_prefix="/api", description="Waiting lists of sold-out showtimes")

_AUTH_ERRORS = "unauthorized, invalid_token, token_expired, token_revoked"


def _user_id() -> int:
    return int(get_jwt_identity())


@blp.route("/showtimes/<int:showtime_id>/waitlist", methods=["POST"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(WaitlistJoinSchema, error_status_code=422)
@blp.response(201, WaitlistEntrySchema, description="joined (200 when an existing entry was updated)")
@error_responses(blp, {401: _AUTH_ERRORS, 404: "showtime_not_found",
                       409: "showtime_cancelled, showtime_started", 422: "validation_error"})
def join_waitlist(body: dict[str, Any], showtime_id: int) -> Any:
    """Join the showtime's waiting list for a number of seats; joining again updates the count and
    keeps the place. You get an email when that many seats are free again."""
    with transaction():
        entry, created = waitlist.join(_user_id(), showtime_id, body["seats"])
    return entry, 201 if created else 200


@blp.route("/showtimes/<int:showtime_id>/waitlist", methods=["DELETE"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(204)
@error_responses(blp, {401: _AUTH_ERRORS, 404: "waitlist_entry_not_found"})
def leave_waitlist(showtime_id: int) -> None:
    """Leave the showtime's waiting list."""
    with transaction():
        waitlist.leave(_user_id(), showtime_id)


@blp.route("/user/waitlist")
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(WaitlistArgs, location="query", error_status_code=422)
@blp.response(200, WaitlistPage)
@error_responses(blp, {401: _AUTH_ERRORS, 422: "validation_error"})
def my_waitlist(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's waiting-list entries, newest first."""
    items, total = waitlist.my_entries(_user_id(), args["page"], args["per_page"])
    return paging.page_body(items, total, args["page"], args["per_page"])
