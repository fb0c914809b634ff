"""The dev gateway's checkout: only registered when PAYMENT_GATEWAY=dev outside production
(app/api/__init__.py), so a production deployment has no route that hands out payment signatures."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.errors import NotFound
from app.schemas.common import ErrorBody
from app.schemas.payments import DevCheckoutArgs, DevCheckoutResult
from app.services import orders, webhooks
from app.services.payment_gateways import get_gateway
from app.services.payment_gateways.dev import DevGateway
from app.services.uow import transaction

blp = Blueprint("dev_payments", __name__, url_prefix="/api", description="The built-in test gateway's checkout")


@blp.route("/payments/dev/checkout", methods=["POST"])
@jwt_required()
@blp.arguments(DevCheckoutArgs)
@blp.response(200, DevCheckoutResult)
@blp.alt_response(404, schema=ErrorBody, description="not_found (not the dev gateway, or not your order)")
def dev_checkout(args: dict[str, Any]) -> dict[str, Any]:
    """The built-in stand-in for Razorpay Checkout: pays (or fails) a dev order, signed as Razorpay signs.

    With `send_webhook` it also delivers the webhook Razorpay would send, through the same intake.
    """
    gateway = get_gateway()
    order = orders.own_order(int(get_jwt_identity()), args["razorpay_order_id"])
    if not isinstance(gateway, DevGateway):
        raise NotFound("No dev checkout for this order.", code="order_not_found")
    result = gateway.simulate_payment(order.gateway_order_id, args["outcome"])
    result["webhook"] = None
    if args["send_webhook"]:
        event_type = "payment.captured" if args["outcome"] == "success" else "payment.failed"
        body, headers = gateway.webhook_delivery(event_type, order.gateway_order_id, result["razorpay_payment_id"])
        with transaction():
            webhooks.accept(body, headers.get(webhooks.SIGNATURE_HEADER), headers.get(webhooks.EVENT_ID_HEADER))
        result["webhook"] = event_type
    return result
