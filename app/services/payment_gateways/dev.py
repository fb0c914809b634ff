"""A local stand-in for Razorpay, for development and tests only: production refuses it at start-up
(app/config.py) and never imports this module (app.services.payment_gateways.build_gateway)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

import redis

from app.config import DEV_GATEWAY_KEY_ID
from app.errors import Conflict, NotFound, PaymentError, ServiceUnavailable, ValidationError
from app.services.payment_gateways.base import (
    GatewayPayment,
    GatewayRefund,
    PaymentGateway,
    hmac_sha256_hex,
    require_refund_args,
    validate_order_args,
)

log = logging.getLogger(__name__)

# How long the dev gateway remembers its orders, payments and refunds.
DEV_RECORD_TTL_S = 7 * 86400


class DevGateway(PaymentGateway):
    """A local stand-in for Razorpay: orders, payments and refunds live in Redis, signatures are real.

    Signs with RAZORPAY_KEY_SECRET when it is set, else with a random secret generated once per deployment
    and kept in Redis so that every web and worker process agrees on it. The webhook secret works the same
    way, so the dev checkout can send signed webhooks (`webhook_delivery`).
    """

    name = "dev"
    DEFAULT_KEY_ID = DEV_GATEWAY_KEY_ID

    def __init__(self, redis_client: redis.Redis, key_id: str = DEV_GATEWAY_KEY_ID, key_secret: str | None = None,
                 webhook_secret: str | None = None, prefix: str = "cineverse") -> None:
        super().__init__(key_id, webhook_secret)
        self.redis = redis_client
        self._configured_key_secret = key_secret
        self.prefix = f"{prefix}:payments:dev"

    @property
    def mode(self) -> str:
        return "dev"

    def _generated_secret(self, kind: str) -> str:
        key = f"{self.prefix}:{kind}_secret"
        # SET NX: the first process to ask makes the secret, every other one reads the same value.
        self.redis.set(key, secrets.token_hex(32), nx=True)
        value = self.redis.get(key)
        if not value:
            raise ServiceUnavailable("The dev gateway's secret store is unavailable.", code="redis_unavailable")
        return str(value)

    def _key_secret(self) -> str:
        return self._configured_key_secret or self._generated_secret("key")

    def _webhook_key(self) -> str | None:
        return self._webhook_secret or self._generated_secret("webhook")

    def status(self) -> dict[str, Any]:
        result = super().status()
        # In dev a generated secret stands in, so webhooks still verify; say which one is in use.
        result["webhook_secret_source"] = "configured" if self._webhook_secret else "generated"
        result["key_secret_source"] = "configured" if self._configured_key_secret else "generated"
        return result

    def _order_key(self, order_id: str) -> str:
        return f"{self.prefix}:order:{order_id}"

    def _payment_key(self, payment_id: str) -> str:
        # a payment's keys share a hash tag: refund() WATCHes both, in one slot on a Redis Cluster
        return f"{self.prefix}:payment:{{{payment_id}}}"

    def create_order(self, amount_paise: int, currency: str, receipt: str,
                     notes: dict[str, Any] | None = None) -> str:
        validate_order_args(amount_paise, currency, receipt, notes)
        order_id = "order_dev_" + secrets.token_hex(8)
        record = {"amount": amount_paise, "currency": currency, "receipt": receipt, "status": "created",
                  "notes": json.dumps({str(k): str(v) for k, v in (notes or {}).items()}),
                  "created_at": int(time.time())}
        pipe = self.redis.pipeline()
        pipe.hset(self._order_key(order_id), mapping=record)  # type: ignore[arg-type]  # redis-py's key type is invariant
        pipe.expire(self._order_key(order_id), DEV_RECORD_TTL_S)
        pipe.execute()
        log.info("dev order %s created for receipt %s (%s paise)", order_id, receipt, amount_paise)
        return order_id

    def get_order(self, order_id: str) -> dict[str, Any]:
        """The dev order as stored. Raises NotFound for an unknown order."""
        data = self.redis.hgetall(self._order_key(order_id)) if isinstance(order_id, str) else {}
        if not data:
            raise NotFound("No such dev gateway order.", code="gateway_order_not_found")
        return {"id": order_id, "amount": int(data["amount"]), "currency": data["currency"],
                "receipt": data["receipt"], "status": data["status"], "notes": json.loads(data["notes"])}

    def sign_payment(self, order_id: str, payment_id: str) -> str:
        """The signature Razorpay Checkout would hand the browser for this order and payment."""
        return hmac_sha256_hex(self._key_secret(), f"{order_id}|{payment_id}")

    def simulate_payment(self, order_id: str, outcome: str = "success") -> dict[str, Any]:
        """Stand in for Razorpay Checkout: pay (or fail to pay) a dev order.

        Success returns {razorpay_order_id, razorpay_payment_id, razorpay_signature} signed as Razorpay
        signs them. Failure returns the same keys with an empty signature (which verification refuses)
        plus Razorpay's `error` object. Raises NotFound for an unknown order, Conflict for a paid one,
        ValidationError for an unknown outcome.
        """
        if outcome not in {"success", "failure", "authorized"}:
            raise ValidationError("outcome must be 'success', 'failure' or 'authorized'",
                                  details={"fields": {"outcome": "must be success, failure or authorized"}})
        order = self.get_order(order_id)
        if order["status"] == "paid":
            raise Conflict("This dev order is already paid.", code="order_already_paid")
        payment_id = "pay_dev_" + secrets.token_hex(8)
        # "authorized": paid but not captured, as on a Razorpay account with manual capture
        status = {"success": "captured", "failure": "failed", "authorized": "authorized"}[outcome]
        pipe = self.redis.pipeline()
        pipe.hset(self._payment_key(payment_id), mapping={
            "order_id": order_id, "amount": order["amount"], "currency": order["currency"], "status": status,
            "refunded": 0,
        })
        pipe.expire(self._payment_key(payment_id), DEV_RECORD_TTL_S)
        if outcome != "failure":
            pipe.hset(self._order_key(order_id), "status", "paid")
        pipe.execute()
        log.info("dev payment %s %s for order %s", payment_id, status, order_id)
        result: dict[str, Any] = {"razorpay_order_id": order_id, "razorpay_payment_id": payment_id}
        if outcome != "failure":
            result["razorpay_signature"] = self.sign_payment(order_id, payment_id)
        else:
            result["razorpay_signature"] = ""
            result["error"] = {
                "code": "BAD_REQUEST_ERROR", "description": "Payment failed (simulated by the dev gateway).",
                "source": "customer", "step": "payment_authorization", "reason": "payment_failed",
                "metadata": {"order_id": order_id, "payment_id": payment_id},
            }
        return result

    def get_payment(self, payment_id: str) -> dict[str, Any]:
        """The dev payment as stored. Raises NotFound for an unknown payment."""
        data = self.redis.hgetall(self._payment_key(payment_id)) if isinstance(payment_id, str) else {}
        if not data:
            raise NotFound("No such dev gateway payment.", code="gateway_payment_not_found")
        return {"id": payment_id, "order_id": data["order_id"], "amount": int(data["amount"]),
                "currency": data["currency"], "status": data["status"], "refunded": int(data["refunded"])}

    def fetch_payment(self, payment_id: str) -> GatewayPayment:
        data = self.get_payment(payment_id)
        return GatewayPayment(id=payment_id, order_id=data["order_id"], amount=data["amount"],
                              currency=data["currency"], status=data["status"])

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> GatewayPayment:
        data = self.get_payment(payment_id)
        if data["status"] != "authorized" or data["amount"] != amount or data["currency"] != currency:
            raise PaymentError("Only an authorised payment can be captured, for its own amount.",
                               code="gateway_rejected")
        self.redis.hset(self._payment_key(payment_id), "status", "captured")
        return self.fetch_payment(payment_id)

    def _refunds_key(self, payment_id: str) -> str:
        return f"{self.prefix}:payment:{{{payment_id}}}:refunds"

    def refund(self, payment_id: str, amount: int | None, *, key: str,
               notes: dict[str, Any] | None = None) -> GatewayRefund:
        require_refund_args(payment_id, amount)
        pkey, rkey = self._payment_key(payment_id), self._refunds_key(payment_id)
        # WATCH/MULTI so two refunds racing on one payment never refund more than was paid, and a key
        # already used answers the refund it made (Razorpay's X-Refund-Idempotency).
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(pkey, rkey)
                    done = pipe.hget(rkey, key)
                    if done:
                        pipe.unwatch()
                        return _dev_refund(json.loads(done))
                    data = pipe.hgetall(pkey)
                    if not data:
                        raise NotFound("No such dev gateway payment.", code="gateway_payment_not_found")
                    if data["status"] not in {"captured", "refunded"}:
                        raise PaymentError("Only a captured payment can be refunded.", code="gateway_rejected")
                    remaining = int(data["amount"]) - int(data["refunded"])
                    wanted = remaining if amount is None else amount
                    if wanted <= 0 or wanted > remaining:
                        raise PaymentError("The refund is more than what is left of the payment.",
                                           code="gateway_rejected", details={"refundable": remaining})
                    record = {"id": "rfnd_dev_" + secrets.token_hex(8), "amount": wanted, "status": "processed",
                              "key": key}
                    pipe.multi()
                    pipe.hincrby(pkey, "refunded", wanted)
                    if wanted == remaining:
                        pipe.hset(pkey, "status", "refunded")
                    pipe.hset(rkey, key, json.dumps(record))
                    pipe.expire(rkey, DEV_RECORD_TTL_S)
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        log.info("dev refund %s for payment %s (%s paise) key=%s", record["id"], payment_id, wanted, key)
        return _dev_refund(record)

    def refunds_of(self, payment_id: str) -> list[GatewayRefund]:
        require_refund_args(payment_id, None)
        return [_dev_refund(json.loads(raw)) for raw in self.redis.hvals(self._refunds_key(payment_id))]

    def webhook_delivery(self, event: str, order_id: str, payment_id: str | None = None,
                         event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A signed webhook as Razorpay would deliver it: (raw body, headers) for POST /api/payments/webhook.

        event is "payment.captured", "payment.failed" or "order.paid". Raises NotFound for an unknown order
        or payment, ValidationError for another event.
        """
        if event not in {"payment.captured", "payment.failed", "order.paid"}:
            raise ValidationError("Unsupported dev webhook event.", details={"fields": {"event": "unsupported"}})
        order = self.get_order(order_id)
        contains = ["payment"] if event.startswith("payment.") else ["payment", "order"]
        payload: dict[str, Any] = {}
        if payment_id is not None:
            payment = self.get_payment(payment_id)
            payload["payment"] = {"entity": {
                "id": payment_id, "entity": "payment", "amount": payment["amount"],
                "currency": payment["currency"], "status": "failed" if event == "payment.failed" else "captured",
                "order_id": order_id, "captured": event != "payment.failed", "method": "card",
                "created_at": int(time.time()),
            }}
        if event == "order.paid":
            payload["order"] = {"entity": {
                "id": order_id, "entity": "order", "amount": order["amount"], "amount_paid": order["amount"],
                "amount_due": 0, "currency": order["currency"], "receipt": order["receipt"], "status": "paid",
            }}
        body = json.dumps({
            "entity": "event", "account_id": "acc_cineverse_dev", "event": event, "contains": contains,
            "payload": payload, "created_at": int(time.time()),
        }, separators=(",", ":")).encode("utf-8")
        key = self._webhook_key()
        assert key  # a dev gateway always has one (configured or generated)
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": hmac_sha256_hex(key, body),
            "X-Razorpay-Event-Id": event_id or "evt_dev_" + secrets.token_hex(8),
        }
        return body, headers




def _dev_refund(record: dict[str, Any]) -> GatewayRefund:
    return GatewayRefund(id=record["id"], amount=int(record["amount"]), status=record["status"], key=record["key"])
