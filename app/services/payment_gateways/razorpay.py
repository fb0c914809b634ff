"""Razorpay through its official SDK; `base_url` points it elsewhere (a local fake in tests)."""

from __future__ import annotations

import logging
from typing import Any

import razorpay
import razorpay.errors
import requests

from app.errors import InvalidSignature, PaymentError, ServiceUnavailable
from app.services.payment_gateways.base import (
    GATEWAY_TIMEOUT,
    REFUND_NOTE,
    GatewayPayment,
    GatewayRefund,
    PaymentGateway,
    check_signature_present,
    require_refund_args,
    require_text,
    validate_order_args,
)

log = logging.getLogger(__name__)


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
        check_signature_present(signature, "payment")
        require_text(order_id, "razorpay_order_id")
        require_text(payment_id, "razorpay_payment_id")
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

    def _call(self, what: str, fn: Any, *args: Any, expect_id: bool = True, **options: Any) -> dict[str, Any]:
        try:
            result = fn(*args, timeout=GATEWAY_TIMEOUT, **options)
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
        if not isinstance(result, dict) or (expect_id and not isinstance(result.get("id"), str)):
            log.warning("razorpay answered %s without an id: %r", what, result)
            raise ServiceUnavailable("The payment gateway gave an unexpected answer.", code="gateway_unavailable")
        return result

    def create_order(self, amount_paise: int, currency: str, receipt: str,
                     notes: dict[str, Any] | None = None) -> str:
        validate_order_args(amount_paise, currency, receipt, notes)
        data: dict[str, Any] = {"amount": amount_paise, "currency": currency, "receipt": receipt}
        if notes:
            data["notes"] = {str(k): str(v) for k, v in notes.items()}
        order = self._call("order", self.client.order.create, data)
        log.info("razorpay order %s created for receipt %s (%s paise)", order["id"], receipt, amount_paise)
        return str(order["id"])

    def refund(self, payment_id: str, amount: int | None, *, key: str,
               notes: dict[str, Any] | None = None) -> GatewayRefund:
        require_refund_args(payment_id, amount)
        data: dict[str, Any] = {"notes": {str(k): str(v) for k, v in (notes or {}).items()}}
        data["notes"][REFUND_NOTE] = key
        if amount is not None:
            data["amount"] = amount
        # Razorpay answers a repeated X-Refund-Idempotency with the refund it already made.
        result = self._call("refund", self.client.payment.refund, payment_id, data,
                            headers={"X-Refund-Idempotency": key})
        log.info("razorpay refund %s for payment %s (%s paise) key=%s", result["id"], payment_id, amount, key)
        return _refund(result)

    def refunds_of(self, payment_id: str) -> list[GatewayRefund]:
        require_refund_args(payment_id, None)
        result = self._call("refund lookup", self.client.payment.fetch_multiple_refund, payment_id,
                            {"count": 100}, expect_id=False)
        items = result.get("items")
        if not isinstance(items, list):
            raise ServiceUnavailable("The payment gateway gave an unexpected answer.", code="gateway_unavailable")
        return [_refund(item) for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]

    def fetch_payment(self, payment_id: str) -> GatewayPayment:
        require_refund_args(payment_id, None)
        return _payment(self._call("payment lookup", self.client.payment.fetch, payment_id, {}))

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> GatewayPayment:
        require_refund_args(payment_id, amount)
        result = self._call("capture", self.client.payment.capture, payment_id, amount, {"currency": currency})
        log.info("razorpay payment %s captured (%s paise)", payment_id, amount)
        return _payment(result)


def _refund(data: dict[str, Any]) -> GatewayRefund:
    notes = data.get("notes")
    key = notes.get(REFUND_NOTE) if isinstance(notes, dict) else None
    amount = data.get("amount")
    return GatewayRefund(id=str(data["id"]), amount=amount if isinstance(amount, int) else 0,
                         status=str(data.get("status") or "pending"), key=key if isinstance(key, str) else None)


def _payment(data: dict[str, Any]) -> GatewayPayment:
    amount, currency, order_id = data.get("amount"), data.get("currency"), data.get("order_id")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        log.warning("razorpay payment %s answered without an amount or currency", data.get("id"))
        raise ServiceUnavailable("The payment gateway gave an unexpected answer.", code="gateway_unavailable")
    return GatewayPayment(id=str(data["id"]), order_id=order_id if isinstance(order_id, str) else None,
                          amount=amount, currency=currency, status=str(data.get("status") or ""))
