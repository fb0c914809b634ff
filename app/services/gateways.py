"""Payment gateways: Razorpay through its official SDK, and a local dev gateway that signs the same way.

Both sign a checkout result as Razorpay documents it: HMAC-SHA256 of ``"<order_id>|<payment_id>"`` with the
key secret, hex encoded; webhooks carry the HMAC-SHA256 hex of the raw body under the webhook secret. So one
verification path serves both gateways. `get_gateway()` picks the gateway from ``PAYMENT_GATEWAY``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from abc import ABC, abstractmethod
from typing import Any

import razorpay
import razorpay.errors
import redis
import requests
from flask import Flask, current_app

from app.errors import Conflict, InvalidSignature, NotFound, PaymentError, ServiceUnavailable, ValidationError
from app.extensions import RedisExtension

log = logging.getLogger(__name__)

# Razorpay's own limits: at least 100 paise, a receipt of at most 40 characters, at most 15 notes.
MIN_AMOUNT_PAISE = 100
MAX_RECEIPT_LEN = 40
MAX_NOTES = 15
# (connect, read) seconds for calls to the gateway; the SDK sets none by default.
GATEWAY_TIMEOUT = (3.05, 20)
# How long the dev gateway remembers its orders and payments.
DEV_RECORD_TTL_S = 7 * 86400


def hmac_sha256_hex(secret: str, message: bytes | str) -> str:
    """HMAC-SHA256 of message under secret, hex encoded (Razorpay's signature format)."""
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _check_signature(expected: str, signature: object, what: str) -> None:
    """Compare in constant time; a missing, empty or non-text signature is always refused."""
    if not isinstance(signature, str) or not signature.strip():
        raise InvalidSignature(f"The {what} signature is missing.")
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        raise InvalidSignature(f"The {what} signature does not match.") from None
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise InvalidSignature(f"The {what} signature does not match.")


def _require_text(value: object, field: str, max_len: int = 64) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidSignature(f"The {field} is missing or malformed.", details={"field": field})
    return value


def _validate_order_args(amount_paise: object, currency: object, receipt: object,
                         notes: dict[str, Any] | None) -> None:
    fields: dict[str, str] = {}
    if not isinstance(amount_paise, int) or isinstance(amount_paise, bool) or amount_paise < MIN_AMOUNT_PAISE:
        fields["amount"] = f"must be a whole number of paise, at least {MIN_AMOUNT_PAISE}"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        fields["currency"] = "must be a three-letter ISO code such as INR"
    if not isinstance(receipt, str) or not receipt or len(receipt) > MAX_RECEIPT_LEN:
        fields["receipt"] = f"must be 1 to {MAX_RECEIPT_LEN} characters"
    if notes is not None and (not isinstance(notes, dict) or len(notes) > MAX_NOTES):
        fields["notes"] = f"must be a mapping of at most {MAX_NOTES} entries"
    if fields:
        raise ValidationError("The gateway order is not valid.", details={"fields": fields})


class PaymentGateway(ABC):
    """What the order and webhook flows need from a payment gateway."""

    name: str

    def __init__(self, key_id: str, webhook_secret: str | None) -> None:
        self.key_id = key_id
        self._webhook_secret = webhook_secret

    @abstractmethod
    def create_order(self, amount_paise: int, currency: str, receipt: str,
                     notes: dict[str, Any] | None = None) -> str:
        """Create a gateway order for amount_paise and return its id.

        Raises ValidationError for bad arguments, PaymentError when the gateway refuses the order,
        ServiceUnavailable when the gateway cannot be reached.
        """

    @abstractmethod
    def refund(self, payment_id: str, amount: int | None = None, notes: dict[str, Any] | None = None) -> str:
        """Refund amount paise (all of it when None) of a captured payment and return the refund id.

        Raises PaymentError when the gateway refuses, ServiceUnavailable when it cannot be reached.
        """

    @abstractmethod
    def _key_secret(self) -> str:
        """The secret checkout results are signed with."""

    @abstractmethod
    def _webhook_key(self) -> str | None:
        """The secret webhooks are signed with, or None when none is configured."""

    @property
    @abstractmethod
    def mode(self) -> str:
        """'live', 'test' or 'dev'."""

    def verify_payment_signature(self, order_id: str, payment_id: str, signature: str | None) -> None:
        """Check a checkout result: HMAC-SHA256 hex of "order_id|payment_id" with the key secret.

        Raises InvalidSignature when the signature or an id is missing, malformed or does not match.
        """
        _check_signature_present(signature, "payment")
        _require_text(order_id, "razorpay_order_id")
        _require_text(payment_id, "razorpay_payment_id")
        _check_signature(hmac_sha256_hex(self._key_secret(), f"{order_id}|{payment_id}"), signature, "payment")

    def verify_webhook_signature(self, raw_body: bytes, signature: str | None) -> None:
        """Check X-Razorpay-Signature: HMAC-SHA256 hex of the raw body with the webhook secret.

        Raises InvalidSignature when the signature is missing or does not match, and when no webhook
        secret is configured (nothing can be trusted then).
        """
        _check_signature_present(signature, "webhook")
        key = self._webhook_key()
        if not key:
            log.warning("webhook refused: PAYMENTS_WEBHOOK_SECRET is not set")
            raise InvalidSignature("Webhooks cannot be verified: no webhook secret is configured.")
        if not isinstance(raw_body, bytes | bytearray):
            raise InvalidSignature("The webhook body is missing.")
        _check_signature(hmac_sha256_hex(key, bytes(raw_body)), signature, "webhook")

    def status(self) -> dict[str, Any]:
        """Public facts about the gateway: never a secret."""
        return {
            "gateway": self.name,
            "key_id": self.key_id,
            "mode": self.mode,
            "webhook_secret_configured": bool(self._webhook_secret),
        }


def _check_signature_present(signature: object, what: str) -> None:
    if not isinstance(signature, str) or not signature.strip():
        raise InvalidSignature(f"The {what} signature is missing.")


class RazorpayGateway(PaymentGateway):
    """Razorpay through the official SDK; `base_url` points it elsewhere (a local fake in tests)."""

    name = "razorpay"

    def __init__(self, key_id: str, key_secret: str, webhook_secret: str | None = None,
                 base_url: str | None = None, session: requests.Session | None = None) -> None:
        if not key_id or not key_secret:
            raise ValueError("RazorpayGateway needs a key id and a key secret")
        super().__init__(key_id, webhook_secret)
        self.__key_secret = key_secret
        options: dict[str, Any] = {"base_url": base_url.rstrip("/")} if base_url else {}
        self.client = razorpay.Client(session=session, auth=(key_id, key_secret), **options)
        self.client.set_app_details({"title": "CineVerse", "version": "1.0"})

    @property
    def mode(self) -> str:
        return "live" if self.key_id.startswith("rzp_live_") else "test"

    def _key_secret(self) -> str:
        return self.__key_secret

    def _webhook_key(self) -> str | None:
        return self._webhook_secret

    def verify_payment_signature(self, order_id: str, payment_id: str, signature: str | None) -> None:
        """Check a checkout result with the SDK's own utility (HMAC-SHA256 of "order_id|payment_id").

        Raises InvalidSignature when the signature or an id is missing, malformed or does not match.
        """
        _check_signature_present(signature, "payment")
        _require_text(order_id, "razorpay_order_id")
        _require_text(payment_id, "razorpay_payment_id")
        assert isinstance(signature, str)
        if not signature.isascii():  # hmac.compare_digest raises TypeError on non-ASCII text
            raise InvalidSignature("The payment signature does not match.")
        try:
            self.client.utility.verify_payment_signature({
                "razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
                "razorpay_signature": signature.strip(),
            })
        except razorpay.errors.SignatureVerificationError:
            raise InvalidSignature("The payment signature does not match.") from None

    def _call(self, what: str, fn: Any, *args: Any) -> dict[str, Any]:
        try:
            result = fn(*args, timeout=GATEWAY_TIMEOUT)
        except razorpay.errors.BadRequestError as exc:
            log.warning("razorpay refused %s: %s", what, exc)
            raise PaymentError(f"The payment gateway refused the {what}: {exc}", code="gateway_rejected") from exc
        except (razorpay.errors.GatewayError, razorpay.errors.ServerError) as exc:
            log.warning("razorpay failed %s: %s", what, exc)
            raise ServiceUnavailable("The payment gateway failed; try again shortly.",
                                     code="gateway_unavailable", headers={"Retry-After": "5"}) from exc
        except (requests.RequestException, ValueError) as exc:
            # ValueError: an answer that is not JSON (a proxy's error page).
            log.warning("razorpay unreachable for %s: %s", what, exc)
            raise ServiceUnavailable("The payment gateway cannot be reached; try again shortly.",
                                     code="gateway_unavailable", headers={"Retry-After": "5"}) from exc
        if not isinstance(result, dict) or not isinstance(result.get("id"), str):
            log.warning("razorpay answered %s without an id: %r", what, result)
            raise ServiceUnavailable("The payment gateway gave an unexpected answer.", code="gateway_unavailable")
        return result

    def create_order(self, amount_paise: int, currency: str, receipt: str,
                     notes: dict[str, Any] | None = None) -> str:
        _validate_order_args(amount_paise, currency, receipt, notes)
        data: dict[str, Any] = {"amount": amount_paise, "currency": currency, "receipt": receipt}
        if notes:
            data["notes"] = {str(k): str(v) for k, v in notes.items()}
        order = self._call("order", self.client.order.create, data)
        log.info("razorpay order %s created for receipt %s (%s paise)", order["id"], receipt, amount_paise)
        return str(order["id"])

    def refund(self, payment_id: str, amount: int | None = None, notes: dict[str, Any] | None = None) -> str:
        _require_refund_args(payment_id, amount)
        data: dict[str, Any] = {}
        if amount is not None:
            data["amount"] = amount
        if notes:
            data["notes"] = {str(k): str(v) for k, v in notes.items()}
        result = self._call("refund", self.client.payment.refund, payment_id, data)
        log.info("razorpay refund %s for payment %s (%s paise)", result["id"], payment_id, amount)
        return str(result["id"])


def _require_refund_args(payment_id: object, amount: object) -> None:
    if not isinstance(payment_id, str) or not payment_id:
        raise ValidationError("A payment id is needed for a refund.", details={"fields": {"payment_id": "required"}})
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0):
        raise ValidationError("A refund amount must be a positive number of paise.",
                              details={"fields": {"amount": "must be positive"}})


class DevGateway(PaymentGateway):
    """A local stand-in for Razorpay: orders, payments and refunds live in Redis, signatures are real.

    Signs with RAZORPAY_KEY_SECRET when it is set, else with a random secret generated once per deployment
    and kept in Redis so that every web and worker process agrees on it. The webhook secret works the same
    way, so the dev checkout can send signed webhooks (`webhook_delivery`).
    """

    name = "dev"
    DEFAULT_KEY_ID = "rzp_test_cineverse_dev"

    def __init__(self, redis_client: redis.Redis, key_id: str | None = None, key_secret: str | None = None,
                 webhook_secret: str | None = None, prefix: str = "cineverse") -> None:
        super().__init__(key_id or self.DEFAULT_KEY_ID, webhook_secret)
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
        return f"{self.prefix}:payment:{payment_id}"

    def create_order(self, amount_paise: int, currency: str, receipt: str,
                     notes: dict[str, Any] | None = None) -> str:
        _validate_order_args(amount_paise, currency, receipt, notes)
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
        if outcome not in {"success", "failure"}:
            raise ValidationError("outcome must be 'success' or 'failure'",
                                  details={"fields": {"outcome": "must be success or failure"}})
        order = self.get_order(order_id)
        if order["status"] == "paid":
            raise Conflict("This dev order is already paid.", code="order_already_paid")
        payment_id = "pay_dev_" + secrets.token_hex(8)
        status = "captured" if outcome == "success" else "failed"
        pipe = self.redis.pipeline()
        pipe.hset(self._payment_key(payment_id), mapping={
            "order_id": order_id, "amount": order["amount"], "currency": order["currency"], "status": status,
            "refunded": 0,
        })
        pipe.expire(self._payment_key(payment_id), DEV_RECORD_TTL_S)
        if outcome == "success":
            pipe.hset(self._order_key(order_id), "status", "paid")
        pipe.execute()
        log.info("dev payment %s %s for order %s", payment_id, status, order_id)
        result: dict[str, Any] = {"razorpay_order_id": order_id, "razorpay_payment_id": payment_id}
        if outcome == "success":
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

    def refund(self, payment_id: str, amount: int | None = None, notes: dict[str, Any] | None = None) -> str:
        _require_refund_args(payment_id, amount)
        key = self._payment_key(payment_id)
        # WATCH/MULTI so two refunds racing on one payment never refund more than was paid.
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    data = pipe.hgetall(key)
                    if not data:
                        raise NotFound("No such dev gateway payment.", code="gateway_payment_not_found")
                    if data["status"] not in {"captured", "refunded"}:
                        raise PaymentError("Only a captured payment can be refunded.", code="gateway_rejected")
                    remaining = int(data["amount"]) - int(data["refunded"])
                    wanted = remaining if amount is None else amount
                    if wanted <= 0 or wanted > remaining:
                        raise PaymentError("The refund is more than what is left of the payment.",
                                           code="gateway_rejected", details={"refundable": remaining})
                    pipe.multi()
                    pipe.hincrby(key, "refunded", wanted)
                    if wanted == remaining:
                        pipe.hset(key, "status", "refunded")
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        refund_id = "rfnd_dev_" + secrets.token_hex(8)
        log.info("dev refund %s for payment %s (%s paise)", refund_id, payment_id, wanted)
        return refund_id

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


def build_gateway(app: Flask) -> PaymentGateway:
    """A gateway for app's settings (PAYMENT_GATEWAY, RAZORPAY_*, PAYMENTS_WEBHOOK_SECRET)."""
    cfg = app.config
    if cfg.get("PAYMENT_GATEWAY") == "razorpay":
        return RazorpayGateway(cfg["RAZORPAY_KEY_ID"], cfg["RAZORPAY_KEY_SECRET"],
                               webhook_secret=cfg.get("PAYMENTS_WEBHOOK_SECRET"),
                               base_url=cfg.get("RAZORPAY_API_BASE_URL"))
    return DevGateway(RedisExtension.client(app), key_id=cfg.get("RAZORPAY_KEY_ID"),
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
    "DevGateway", "PaymentGateway", "RazorpayGateway", "build_gateway", "gateway_status", "get_gateway",
    "hmac_sha256_hex",
]
