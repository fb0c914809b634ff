"""Payment gateways: Razorpay through its official SDK (razorpay.py) and, outside production, a local dev
gateway that signs the same way (dev.py). `get_gateway()` picks one from ``PAYMENT_GATEWAY``."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from app.config import checkout_key_id
from app.errors import ServiceUnavailable
from app.extensions import RedisExtension
from app.services.payment_gateways.base import (
    GatewayPayment,
    GatewayRefund,
    PaymentGateway,
    hmac_sha256_hex,
)
from app.services.payment_gateways.razorpay import RazorpayGateway


def build_gateway(app: Flask) -> PaymentGateway:
    """A gateway for app's settings (PAYMENT_GATEWAY, RAZORPAY_*, PAYMENTS_WEBHOOK_SECRET)."""
    cfg = app.config
    if cfg.get("PAYMENT_GATEWAY") == "razorpay":
        return RazorpayGateway(cfg["RAZORPAY_KEY_ID"], cfg["RAZORPAY_KEY_SECRET"],
                               webhook_secret=cfg.get("PAYMENTS_WEBHOOK_SECRET"),
                               base_url=cfg.get("RAZORPAY_API_BASE_URL"))
    if cfg.get("PRODUCTION"):  # app/config.py refuses this already; never hand out free tickets
        raise ServiceUnavailable("No payment gateway is configured.", code="gateway_unavailable")
    from app.services.payment_gateways.dev import DevGateway  # kept off the production import path

    return DevGateway(RedisExtension.client(app), key_id=checkout_key_id(cfg),
                      key_secret=cfg.get("RAZORPAY_KEY_SECRET"),
                      webhook_secret=cfg.get("PAYMENTS_WEBHOOK_SECRET"),
                      prefix=cfg.get("SEAT_LOCK_PREFIX") or "cineverse")


def get_gateway() -> PaymentGateway:
    """The current app's gateway, built once per app."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    gateway = app.extensions.get("payment_gateway")
    if gateway is None:
        gateway = build_gateway(app)
        app.extensions["payment_gateway"] = gateway
    return gateway


def gateway_status() -> dict[str, Any]:
    """What GET /api/payments/gateway-status shows: gateway, key id, mode, webhook secret configured."""
    return get_gateway().status()


__all__ = [
    "GatewayPayment", "GatewayRefund", "PaymentGateway", "RazorpayGateway", "build_gateway", "gateway_status",
    "get_gateway", "hmac_sha256_hex",
]
