"""Payment, order and booking schemas."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from app.config import checkout_key_id
from app.models.seating import SEAT_LABEL
from app.schemas.common import PageArgs, page_of

SEAT_ID = validate.Regexp(SEAT_LABEL, error="Seat ids look like A1 .. L18.")


class SeatSelection(Schema):
    showtime_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    seat_ids = fields.List(fields.String(validate=SEAT_ID), required=True, validate=validate.Length(min=1, max=50))


class OrderCreateArgs(SeatSelection):
    promo_code = fields.String(allow_none=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "optional, case-insensitive; the discount is computed on the server"})


class LockValidation(Schema):
    valid = fields.Boolean()
    showtime_id = fields.Integer()
    seat_ids = fields.List(fields.String(), metadata={"description": "seats the caller holds"})
    missing = fields.List(fields.String(), metadata={"description": "seats the caller no longer holds"})
    expires_at = fields.AwareDateTime(format="iso", allow_none=True)


class OrderSchema(Schema):
    order_id = fields.String(attribute="public_id")
    gateway = fields.String()
    gateway_order_id = fields.String()
    razorpay_order_id = fields.Function(lambda o: o.gateway_order_id, metadata={"description": "for Checkout"})
    amount = fields.Integer(metadata={"description": "paise to pay, computed on the server: subtotal - discount"})
    subtotal = fields.Integer(metadata={"description": "paise, the seat prices"})
    discount = fields.Integer(metadata={"description": "paise, from the promo code (0 without one)"})
    promo_code = fields.String(allow_none=True)
    currency = fields.String()
    key_id = fields.Function(lambda _order: checkout_key_id(current_app.config),
                             metadata={"description": "public key id for the checkout"})
    state = fields.Function(lambda o: o.state.value)
    showtime_id = fields.Integer()
    seat_ids = fields.List(fields.String(), attribute="seat_labels")
    expires_at = fields.AwareDateTime(format="iso")


class VerifyArgs(Schema):
    razorpay_order_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    razorpay_payment_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    razorpay_signature = fields.String(required=True, validate=validate.Length(min=1, max=256))


class DevCheckoutArgs(Schema):
    razorpay_order_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    outcome = fields.String(load_default="success", validate=validate.OneOf(["success", "failure"]))
    send_webhook = fields.Boolean(load_default=False, metadata={
        "description": "also deliver the signed webhook Razorpay would send (as if the tab was closed)"})


class DevCheckoutResult(Schema):
    razorpay_order_id = fields.String()
    razorpay_payment_id = fields.String()
    razorpay_signature = fields.String()
    webhook = fields.String(allow_none=True)


class BookingSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    showtime_id = fields.Integer()
    seat_ids = fields.List(fields.String(), attribute="seat_labels")
    amount = fields.Integer()
    currency = fields.String()
    state = fields.Function(lambda b: b.state.value)
    order_id = fields.Function(lambda b: b.order.public_id)
    checked_in_at = fields.AwareDateTime(format="iso", allow_none=True)
    created_at = fields.AwareDateTime(format="iso")
    ticket_url = fields.Method("_ticket_url")

    def _ticket_url(self, booking) -> str:  # type: ignore[no-untyped-def]
        from flask import current_app

        return f"{current_app.config['PUBLIC_BASE_URL']}/api/payments/bookings/{booking.id}/ticket.pdf"


class VerifyResult(Schema):
    status = fields.String(validate=validate.OneOf(["booked", "refunded", "refund_pending"]))
    order = fields.Nested(OrderSchema)
    booking = fields.Nested(BookingSchema, allow_none=True)


class CancelResult(Schema):
    booking = fields.Nested(BookingSchema)
    refund_amount = fields.Integer()
    refund_state = fields.String(allow_none=True)


class WebhookAck(Schema):
    status = fields.String(validate=validate.OneOf(["accepted", "duplicate"]))
    event_id = fields.String()


class CheckinArgs(Schema):
    payload = fields.String(required=True, validate=validate.Length(min=1, max=512),
                            metadata={"description": "the scanned QR code text"})


class BookingListArgs(PageArgs):
    pass


BookingPage = page_of(BookingSchema)


class RefundFilterArgs(PageArgs):
    state = fields.String(load_default=None, validate=validate.OneOf(["pending", "processed", "failed"]),
                          metadata={"description": "failed: refused by the gateway, waiting for staff"})


class RefundAdminSchema(Schema):
    """A refund as staff see it: what is owed to whom, how often the gateway was asked and its last answer."""

    id = fields.Integer()
    state = fields.String()
    amount = fields.Integer(metadata={"description": "paise"})
    reason = fields.String()
    attempts = fields.Integer()
    requested_at = fields.AwareDateTime(format="iso", allow_none=True)
    last_error = fields.String(allow_none=True)
    gateway_refund_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(format="iso")
    order_id = fields.String(metadata={"description": "the order's public id"})
    order_state = fields.String()
    gateway_payment_id = fields.String()
    user_id = fields.Integer()


RefundAdminPage = page_of(RefundAdminSchema)
