"""Staff routes under /api/admin (OpenAPI tag `admin`): catalogue management, bookings, sales, users.

Every route carries `staff_required` directly under `@blp.route`, so the role check runs before the
body is parsed and before any lookup can answer 404.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.api.auth import current_staff, staff_required
from app.api.docs import error_responses
from app.models import RefundState
from app.schemas.accounts import ActiveChangeSchema, RoleChangeSchema, UserFilterArgs, UserPage, UserSchema
from app.schemas.admin import (
    AuditFilterArgs,
    AuditPage,
    BookingAdminPage,
    BookingFilterArgs,
    MovieAdminArgs,
    MovieAdminPage,
    MovieAdminSchema,
    MovieCreateSchema,
    MovieUpdateSchema,
    PromoCreateSchema,
    PromoFilterArgs,
    PromoPage,
    PromoSchema,
    PromoUpdateSchema,
    SalesSchema,
    ScreenAdminSchema,
    ScreenCreateSchema,
    ScreenUpdateSchema,
    ShowtimeCancelSchema,
    ShowtimeCreateSchema,
    ShowtimeUpdateSchema,
    TheatreAdminPage,
    TheatreAdminSchema,
    TheatreCreateSchema,
    TheatreUpdateSchema,
)
from app.schemas.catalogue import ShowtimeSchema, TheatreFilterArgs
from app.schemas.payments import BookingSchema, CheckinArgs, RefundAdminPage, RefundAdminSchema, RefundFilterArgs
from app.services import (
    accounts_admin,
    audit,
    bookings,
    catalogue,
    catalogue_admin,
    paging,
    promos,
    refunds,
    reports,
    tickets,
)
from app.services.layouts import default_layout
from app.services.uow import transaction

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Staff: catalogue, bookings, sales, users")

_STAFF_ERRORS = {
    401: "unauthorized, invalid_token, token_expired, token_revoked, account_inactive",
    403: "staff_only (superadmin_only on superadmin routes)",
}


def _staff(superadmin: bool = False, **described: str):  # type: ignore[no-untyped-def]
    """staff_required plus its documentation (bearer security, 401/403 and the route's own errors)."""

    def decorate(fn):  # type: ignore[no-untyped-def]
        fn = staff_required(superadmin=superadmin)(fn)
        fn = blp.doc(security=[{"bearerAuth": []}])(fn)
        errors = {**_STAFF_ERRORS, **{int(k.removeprefix("e")): v for k, v in described.items()}}
        return error_responses(blp, errors)(fn)

    return decorate


def _page(items: list[Any], total: int, args: dict[str, Any]) -> dict[str, Any]:
    return paging.page_body(items, total, args["page"], args["per_page"])


# ---------------------------------------------------------------- movies


@blp.route("/movies")
@_staff(e422="validation_error")
@blp.arguments(MovieAdminArgs, location="query", error_status_code=422)
@blp.response(200, MovieAdminPage)
def list_movies(args: dict[str, Any]) -> dict[str, Any]:
    """All movies, inactive ones included."""
    items, total = catalogue_admin.list_movies(args["page"], args["per_page"], q=args.get("q"))
    return _page(items, total, args)


@blp.route("/movies", methods=["POST"])
@_staff(e422="validation_error")
@blp.arguments(MovieCreateSchema, error_status_code=422)
@blp.response(201, MovieAdminSchema)
def create_movie(body: dict[str, Any]) -> Any:
    """Add a movie."""
    with transaction():
        return catalogue_admin.create_movie(current_staff(), body)


@blp.route("/movies/<int:movie_id>", methods=["PATCH"])
@_staff(e404="movie_not_found", e422="validation_error")
@blp.arguments(MovieUpdateSchema, error_status_code=422)
@blp.response(200, MovieAdminSchema)
def update_movie(body: dict[str, Any], movie_id: int) -> Any:
    """Change a movie's details (or bring it back with `is_active: true`)."""
    with transaction():
        return catalogue_admin.update_movie(current_staff(), movie_id, body)


@blp.route("/movies/<int:movie_id>", methods=["DELETE"])
@_staff(e404="movie_not_found")
@blp.response(200, MovieAdminSchema)
def deactivate_movie(movie_id: int) -> Any:
    """Take a movie out of the catalogue (kept, with its showtimes and bookings, as inactive)."""
    with transaction():
        return catalogue_admin.deactivate_movie(current_staff(), movie_id)


# ---------------------------------------------------------------- theatres and screens


@blp.route("/theatres")
@_staff(e422="validation_error")
@blp.arguments(TheatreFilterArgs, location="query", error_status_code=422)
@blp.response(200, TheatreAdminPage)
def list_theatres(args: dict[str, Any]) -> dict[str, Any]:
    """Theatres with their screens and layouts."""
    items, total = catalogue.list_theatres(**args)
    return _page(items, total, args)


@blp.route("/theatres", methods=["POST"])
@_staff(e422="validation_error")
@blp.arguments(TheatreCreateSchema, error_status_code=422)
@blp.response(201, TheatreAdminSchema)
def create_theatre(body: dict[str, Any]) -> Any:
    """Add a theatre."""
    with transaction():
        return catalogue_admin.create_theatre(current_staff(), body)


@blp.route("/theatres/<int:theatre_id>", methods=["PATCH"])
@_staff(e404="theatre_not_found", e422="validation_error")
@blp.arguments(TheatreUpdateSchema, error_status_code=422)
@blp.response(200, TheatreAdminSchema)
def update_theatre(body: dict[str, Any], theatre_id: int) -> Any:
    """Change a theatre's name, city or address."""
    with transaction():
        return catalogue_admin.update_theatre(current_staff(), theatre_id, body)


@blp.route("/theatres/<int:theatre_id>/screens", methods=["POST"])
@_staff(e404="theatre_not_found", e409="screen_name_taken", e422="validation_error (layout: details.fields)")
@blp.arguments(ScreenCreateSchema, error_status_code=422)
@blp.response(201, ScreenAdminSchema)
def create_screen(body: dict[str, Any], theatre_id: int) -> Any:
    """Add a screen; its layout is validated (the default layout when none is given)."""
    with transaction():
        return catalogue_admin.create_screen(current_staff(), theatre_id, body["name"],
                                             body.get("layout") or default_layout())


@blp.route("/screens/<int:screen_id>", methods=["PATCH"])
@_staff(e404="screen_not_found", e409="screen_name_taken", e422="validation_error (layout: details.fields)")
@blp.arguments(ScreenUpdateSchema, error_status_code=422)
@blp.response(200, ScreenAdminSchema)
def update_screen(body: dict[str, Any], screen_id: int) -> Any:
    """Rename a screen or change its layout (showtimes already scheduled keep their seats)."""
    with transaction():
        return catalogue_admin.update_screen(current_staff(), screen_id, body)


# ---------------------------------------------------------------- showtimes


@blp.route("/showtimes", methods=["POST"])
@_staff(e404="movie_not_found, screen_not_found",
        e422="validation_error, showtime_in_past, showtime_clash, unknown_sections")
@blp.arguments(ShowtimeCreateSchema, error_status_code=422)
@blp.response(201, ShowtimeSchema)
def create_showtime(body: dict[str, Any]) -> Any:
    """Schedule a showtime; its seats are created from the screen's layout (prices override by section)."""
    with transaction():
        showtime = catalogue_admin.create_showtime(current_staff(), body["movie_id"], body["screen_id"],
                                                   body["starts_at"], body.get("prices"))
    return catalogue.get_showtime(showtime.id)


@blp.route("/showtimes/<int:showtime_id>", methods=["PATCH"])
@_staff(e404="showtime_not_found", e409="showtime_cancelled, showtime_has_bookings",
        e422="validation_error, showtime_in_past, showtime_clash, unknown_sections")
@blp.arguments(ShowtimeUpdateSchema, error_status_code=422)
@blp.response(200, ShowtimeSchema)
def update_showtime(body: dict[str, Any], showtime_id: int) -> Any:
    """Move a showtime (only while nothing is sold) or change the prices of the seats still for sale."""
    with transaction():
        catalogue_admin.update_showtime(current_staff(), showtime_id, body.get("starts_at"), body.get("prices"))
    return catalogue.get_showtime(showtime_id)


@blp.route("/showtimes/<int:showtime_id>/cancel", methods=["POST"])
@_staff(e404="showtime_not_found", e409="showtime_cancelled")
@blp.response(200, ShowtimeCancelSchema)
def cancel_showtime(showtime_id: int) -> dict[str, Any]:
    """Cancel a showtime; its bookings are cancelled and refunded in full, its unpaid orders expire."""
    with transaction():
        _showtime, outcome = catalogue_admin.cancel_showtime(current_staff(), showtime_id)
    return {"showtime": catalogue.get_showtime(showtime_id), **outcome}


@blp.route("/checkin", methods=["POST"])
@_staff(e400="invalid_ticket_code", e404="booking_not_found",
        e409="already_checked_in (details.checked_in_at), booking_cancelled")
@blp.arguments(CheckinArgs, error_status_code=422)
@blp.response(200, BookingSchema)
def checkin(body: dict[str, Any]) -> Any:
    """Validate a scanned ticket QR code and admit its booking, once."""
    reference = tickets.verify_checkin_payload(body["payload"])
    with transaction():
        booking = bookings.check_in(reference)
        audit.audit(current_staff(), "booking.checkin", "booking", booking.id, {"reference": reference})
    return booking


@blp.route("/showtimes/<int:showtime_id>/sales")
@_staff(e404="showtime_not_found")
@blp.response(200, SalesSchema)
def showtime_sales(showtime_id: int) -> dict[str, Any]:
    """Seats by state and section, bookings and revenue of one showtime."""
    return reports.showtime_sales(showtime_id)


# ---------------------------------------------------------------- bookings, users, audit


@blp.route("/bookings")
@_staff(e422="validation_error")
@blp.arguments(BookingFilterArgs, location="query", error_status_code=422)
@blp.response(200, BookingAdminPage)
def list_bookings(args: dict[str, Any]) -> dict[str, Any]:
    """Bookings, newest first, by showtime, user or state."""
    items, total = bookings.list_bookings(args["page"], args["per_page"], showtime_id=args.get("showtime_id"),
                                       user_id=args.get("user_id"), state=args.get("state"))
    return _page(items, total, args)


@blp.route("/refunds")
@_staff(e422="validation_error")
@blp.arguments(RefundFilterArgs, location="query", error_status_code=422)
@blp.response(200, RefundAdminPage)
def list_refunds(args: dict[str, Any]) -> dict[str, Any]:
    """Refunds, newest first; `state=failed` lists those the gateway refused, which need staff."""
    state = RefundState(args["state"]) if args.get("state") else None
    items, total = refunds.list_refunds(state, args["page"], args["per_page"])
    return _page(items, total, args)


@blp.route("/refunds/<int:refund_id>/retry", methods=["POST"])
@_staff(e404="refund_not_found", e409="refund_not_failed")
@blp.response(200, RefundAdminSchema)
def retry_refund(refund_id: int) -> dict[str, Any]:
    """Ask the gateway again for a refund it refused (after fixing the cause with the gateway)."""
    with transaction():
        refunds.retry_failed(refund_id)
        audit.audit(current_staff(), "refund.retry", "refund", refund_id, {"state": ["failed", "pending"]})
    items, _ = refunds.list_refunds(None, 1, 1, refund_id=refund_id)
    return items[0]


@blp.route("/users")
@_staff(e422="validation_error")
@blp.arguments(UserFilterArgs, location="query", error_status_code=422)
@blp.response(200, UserPage)
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """Users, by email/name search and role."""
    items, total = accounts_admin.list_users(args["page"], args["per_page"], q=args.get("q"), role=args.get("role"))
    return _page(items, total, args)


@blp.route("/users/<int:user_id>/role", methods=["PUT"])
@_staff(superadmin=True, e403="staff_only, superadmin_only, superadmin_protected", e404="user_not_found",
        e422="validation_error")
@blp.arguments(RoleChangeSchema, error_status_code=422)
@blp.response(200, UserSchema)
def set_role(body: dict[str, Any], user_id: int) -> Any:
    """Superadmins only: promote a user to admin or demote an admin to user (effective at once)."""
    with transaction():
        return accounts_admin.set_role(current_staff(), user_id, body["role"])


@blp.route("/users/<int:user_id>/active", methods=["PUT"])
@_staff(e403="staff_only, superadmin_only (an admin's account), superadmin_protected, self_protected",
        e404="user_not_found", e422="validation_error")
@blp.arguments(ActiveChangeSchema, error_status_code=422)
@blp.response(200, UserSchema)
def set_active(body: dict[str, Any], user_id: int) -> Any:
    """Suspend (`{"active": false}`) or restore an account, effective at once: a suspended user's tokens
    get 401 on every route. Admins manage plain users; superadmins also manage admins."""
    with transaction():
        return accounts_admin.set_active(current_staff(), user_id, body["active"])


@blp.route("/audit")
@_staff(e422="validation_error")
@blp.arguments(AuditFilterArgs, location="query", error_status_code=422)
@blp.response(200, AuditPage)
def list_audit(args: dict[str, Any]) -> dict[str, Any]:
    """The staff audit trail, newest first: who changed what, and when."""
    items, total = audit.list_audit(args["page"], args["per_page"], entity=args.get("entity"),
                                    actor_id=args.get("actor_id"))
    return _page(items, total, args)


# ---------------------------------------------------------------- promo codes


@blp.route("/promo-codes")
@_staff(e422="validation_error")
@blp.arguments(PromoFilterArgs, location="query", error_status_code=422)
@blp.response(200, PromoPage)
def list_promo_codes(args: dict[str, Any]) -> dict[str, Any]:
    """Promo codes, newest first, with their live redemption counts."""
    items, total = promos.list_promos(args["page"], args["per_page"], q=args.get("q"), active=args.get("active"))
    return _page(items, total, args)


@blp.route("/promo-codes", methods=["POST"])
@_staff(e409="promo_code_taken", e422="validation_error")
@blp.arguments(PromoCreateSchema, error_status_code=422)
@blp.response(201, PromoSchema)
def create_promo_code(body: dict[str, Any]) -> Any:
    """Add a promo code (percent with an optional cap, or a flat amount in paise)."""
    with transaction():
        return promos.create_promo(current_staff(), body)


@blp.route("/promo-codes/<int:promo_id>", methods=["PATCH"])
@_staff(e404="promo_not_found", e422="validation_error")
@blp.arguments(PromoUpdateSchema, error_status_code=422)
@blp.response(200, PromoSchema)
def update_promo_code(body: dict[str, Any], promo_id: int) -> Any:
    """Change a code's terms (the code text itself never changes: orders name it)."""
    with transaction():
        return promos.update_promo(current_staff(), promo_id, body)


@blp.route("/promo-codes/<int:promo_id>", methods=["DELETE"])
@_staff(e404="promo_not_found")
@blp.response(200, PromoSchema)
def deactivate_promo_code(promo_id: int) -> Any:
    """Deactivate a code (kept, with the orders that used it; PATCH `is_active: true` brings it back)."""
    with transaction():
        return promos.deactivate_promo(current_staff(), promo_id)


