"""Payments: orders for held seats, checkout verification, webhooks, bookings and tickets."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, request, send_file
from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.errors import AppError, NotFound, http_exception_body
from app.extensions import db
from app.metrics import WEBHOOKS_RECEIVED
from app.models import Order
from app.schemas.common import ErrorBody
from app.schemas.payments import (
    BookingListArgs,
    BookingPage,
    BookingSchema,
    CancelResult,
    LockValidation,
    OrderCreateArgs,
    OrderSchema,
    SeatSelection,
    VerifyArgs,
    VerifyResult,
    WebhookAck,
)
from app.services import accounts_admin, bookings, orders, paging, tasks, tickets, webhooks
from app.services.payment_gateways import gateway_status
from app.services.uow import transaction
from app.services.waiting_room.passes import QUEUE_PASS_HEADER

blp = Blueprint("payments", __name__, url_prefix="/api", description="Orders, payments, bookings and tickets")

def current_user_id() -> int:
    return int(get_jwt_identity())


def caller_is_staff() -> bool:
    return accounts_admin.is_staff(current_user_id())


def _verify_body(outcome: orders.Confirmation) -> dict[str, Any]:
    if outcome.booking is not None:
        status = "booked"
    else:
        status = "refunded" if outcome.order.state.value == "refunded" else "refund_pending"
    return {"status": status, "order": outcome.order, "booking": outcome.booking}


@blp.route("/payments/health")
@blp.response(200, description="payments service health")
def payments_health() -> dict[str, Any]:
    """The payments service and its gateway are configured."""
    db.session.execute(sa.text("SELECT 1"))
    status = gateway_status()
    return {"status": "ok", "gateway": status["gateway"], "mode": status["mode"]}


@blp.route("/payments/gateway-status")
@blp.response(200, description="gateway name, key id and mode; never a secret")
def payments_gateway_status() -> dict[str, Any]:
    """Which gateway takes payments, and whether webhooks can be verified."""
    return gateway_status()


@blp.route("/payments/validate-locks", methods=["POST"])
@jwt_required()
@blp.arguments(SeatSelection)
@blp.response(200, LockValidation)
@blp.alt_response(404, schema=ErrorBody, description="showtime_not_found")
@blp.alt_response(503, schema=ErrorBody, description="redis_unavailable")
def validate_locks(args: dict[str, Any]) -> dict[str, Any]:
    """Whether the caller still holds these seats."""
    return orders.validate_locks(current_user_id(), args["showtime_id"], args["seat_ids"])


@blp.route("/payments/create-order", methods=["POST"])
@jwt_required()
@blp.arguments(OrderCreateArgs)
@blp.response(201, OrderSchema)
@blp.alt_response(409, schema=ErrorBody,
                  description="hold_expired, seat_taken, showtime_started, promo_exhausted, promo_already_used, "
                              "promo_changed (edited while the order was being made)")
@blp.alt_response(403, schema=ErrorBody,
                  description="queue_pass_required (the showtime's waiting room: send X-Queue-Pass), sales_not_open")
@blp.alt_response(422, schema=ErrorBody,
                  description="validation_error, promo_invalid, promo_expired, promo_min_amount")
@blp.alt_response(503, schema=ErrorBody, description="redis_unavailable, gateway_unavailable")
def create_order(args: dict[str, Any]) -> Order:
    """Create a payment order for seats the caller holds; the amount is computed from the seat prices,
    less the discount of an optional `promo_code` (never below 100 paise)."""
    with transaction():
        order = orders.create_order(current_user_id(), args["showtime_id"], args["seat_ids"],
                                    promo_code=args.get("promo_code"),
                                    queue_pass=request.headers.get(QUEUE_PASS_HEADER))
    return order


@blp.route("/payments/verify", methods=["POST"])
@jwt_required()
@blp.arguments(VerifyArgs)
@blp.response(200, VerifyResult)
@blp.alt_response(400, schema=ErrorBody, description="invalid_signature")
@blp.alt_response(404, schema=ErrorBody, description="order_not_found")
def verify(args: dict[str, Any]) -> dict[str, Any]:
    """Verify the checkout's signature and turn the payment into a booking (idempotent)."""
    with transaction():
        outcome = orders.verify_payment(current_user_id(), args["razorpay_order_id"],
                                        args["razorpay_payment_id"], args["razorpay_signature"])
    db.session.refresh(outcome.order)
    return _verify_body(outcome)


@blp.route("/payments/webhook", methods=["POST"])
@blp.response(200, WebhookAck)
@blp.alt_response(400, schema=ErrorBody, description="invalid_signature")
@blp.alt_response(413, schema=ErrorBody, description="payload_too_large")
def webhook() -> dict[str, Any]:
    """Gateway webhooks: verified over the raw body, stored once per event id, processed by a worker."""
    try:
        raw = request.get_data(cache=False)  # MAX_CONTENT_LENGTH bounds it (413 payload_too_large)
        with transaction():
            event, is_new = webhooks.accept(raw, request.headers.get(webhooks.SIGNATURE_HEADER),
                                             request.headers.get(webhooks.EVENT_ID_HEADER))
    except (AppError, HTTPException) as exc:
        WEBHOOKS_RECEIVED.labels(_webhook_refusal(exc)).inc()
        raise
    except Exception:
        WEBHOOKS_RECEIVED.labels("error").inc()
        raise
    status = "accepted" if is_new else "duplicate"
    WEBHOOKS_RECEIVED.labels(status).inc()
    return {"status": status, "event_id": event.event_id}


def _webhook_refusal(exc: AppError | HTTPException) -> str:
    """The stable error code a refused webhook is answered with (invalid_signature, payload_too_large, ...)."""
    return exc.code if isinstance(exc, AppError) else http_exception_body(exc)[0]["error"]["code"]


@blp.route("/payments/bookings/<int:booking_id>")
@jwt_required()
@blp.response(200, BookingSchema)
@blp.alt_response(404, schema=ErrorBody, description="booking_not_found (also for other users' bookings)")
def get_booking(booking_id: int) -> Any:
    """One of the caller's bookings (staff see every booking)."""
    return bookings.get_booking_for(current_user_id(), booking_id, staff=caller_is_staff())


@blp.route("/payments/bookings/<int:booking_id>/ticket.pdf")
@jwt_required()
@blp.response(200, description="the ticket PDF", content_type="application/pdf")
@blp.alt_response(202, description="the ticket is being rendered; retry after Retry-After seconds")
@blp.alt_response(404, schema=ErrorBody, description="booking_not_found (also for other users' bookings)")
def ticket_pdf(booking_id: int) -> Response:
    """Download the ticket; only its owner or staff can."""
    booking = bookings.get_booking_for(current_user_id(), booking_id, staff=caller_is_staff())
    if booking.state.value == "cancelled":
        raise NotFound("This booking was cancelled; it has no ticket.", code="booking_not_found")
    path = tickets.ticket_file(booking)
    if path is None:
        tasks.enqueue(tasks.RENDER_TICKET, booking.id)  # rendered in-process in the embedded default
        db.session.expire_all()
        path = tickets.ticket_file(bookings.get_booking_for(current_user_id(), booking_id, staff=True))
    if path is None:
        response = jsonify({"status": "rendering", "booking_id": booking.id})
        response.status_code = 202
        response.headers["Retry-After"] = "2"
        return response
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=f"cineverse-{booking.reference}.pdf", max_age=0)


@blp.route("/payments/bookings/<int:booking_id>/cancel", methods=["POST"])
@jwt_required()
@blp.response(200, CancelResult)
@blp.alt_response(404, schema=ErrorBody, description="booking_not_found")
@blp.alt_response(409, schema=ErrorBody, description="cancellation_closed, booking_cancelled")
def cancel_booking(booking_id: int) -> dict[str, Any]:
    """Cancel one's booking before the show; the refund follows CANCELLATION_POLICY."""
    with transaction():
        booking, refund = bookings.cancel_booking(current_user_id(), booking_id)
    # committed rows are expired, so these read what the refund task has recorded since
    return {"booking": booking, "refund_amount": refund.amount if refund else 0,
            "refund_state": refund.state.value if refund else None}


@blp.route("/user/bookings")
@jwt_required()
@blp.arguments(BookingListArgs, location="query")
@blp.response(200, BookingPage)
def my_bookings(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's bookings, newest first."""
    items, total = bookings.user_bookings(current_user_id(), args["page"], args["per_page"])
    return paging.page_body(items, total, args["page"], args["per_page"])
