"""What the order, refund and webhook flows need from a payment gateway, and the checks both gateways share.

Both gateways sign a checkout result as Razorpay documents it: HMAC-SHA256 of ``"<order_id>|<payment_id>"``
with the key secret, hex encoded; webhooks carry the HMAC-SHA256 hex of the raw body under the webhook
secret. So one verification path serves both.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidSignature, ValidationError

log = logging.getLogger(__name__)

# Razorpay's own limits: at least 100 paise, a receipt of at most 40 characters, at most 15 notes.
MIN_AMOUNT_PAISE = 100
MAX_RECEIPT_LEN = 40
MAX_NOTES = 15
# (connect, read) seconds for calls to the gateway; the SDK sets none by default.
GATEWAY_TIMEOUT = (3.05, 20)
# The note every refund carries with our refund's id: how a refund is found again at the gateway.
REFUND_NOTE = "cineverse_refund"


@dataclass(frozen=True)
class GatewayPayment:
    """A payment as the gateway reports it (never as the browser claims it)."""

    id: str
    order_id: str | None
    amount: int
    currency: str
    status: str  # created, authorized, captured, refunded, failed


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    amount: int
    status: str  # pending, processed, failed
    key: str | None  # our refund key (REFUND_NOTE), when the refund carries it


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


def require_text(value: object, field: str, max_len: int = 64) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidSignature(f"The {field} is missing or malformed.", details={"field": field})
    return value


def validate_order_args(amount_paise: object, currency: object, receipt: object,
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
    def refund(self, payment_id: str, amount: int | None, *, key: str,
               notes: dict[str, Any] | None = None) -> GatewayRefund:
        """Refund amount paise (all of it when None) of a captured payment, exactly once per key.

        `key` names our refund: it is sent as the gateway's idempotency key and kept in the refund's notes,
        so a retry after a timeout, a lost commit or a killed worker gets the same refund back instead of a
        second one. Raises PaymentError when the gateway refuses, ServiceUnavailable when it cannot be
        reached (the outcome is then unknown: retry with the same key).
        """

    @abstractmethod
    def refunds_of(self, payment_id: str) -> list[GatewayRefund]:
        """Every refund the gateway has made of a payment (to reconcile before deciding a refund failed).

        Raises ServiceUnavailable when the gateway cannot be reached.
        """

    def find_refund(self, payment_id: str, key: str) -> GatewayRefund | None:
        """The refund of payment_id made for our refund `key`, if the gateway has one."""
        return next((r for r in self.refunds_of(payment_id) if r.key == key), None)

    @abstractmethod
    def fetch_payment(self, payment_id: str) -> GatewayPayment:
        """The payment as the gateway knows it. Raises NotFound, ServiceUnavailable."""

    @abstractmethod
    def capture_payment(self, payment_id: str, amount: int, currency: str) -> GatewayPayment:
        """Capture an authorised payment (accounts on manual capture). Raises PaymentError, ServiceUnavailable."""

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
        check_signature_present(signature, "payment")
        require_text(order_id, "razorpay_order_id")
        require_text(payment_id, "razorpay_payment_id")
        _check_signature(hmac_sha256_hex(self._key_secret(), f"{order_id}|{payment_id}"), signature, "payment")

    def verify_webhook_signature(self, raw_body: bytes, signature: str | None) -> None:
        """Check X-Razorpay-Signature: HMAC-SHA256 hex of the raw body with the webhook secret.

        Raises InvalidSignature when the signature is missing or does not match, and when no webhook
        secret is configured (nothing can be trusted then).
        """
        check_signature_present(signature, "webhook")
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


def check_signature_present(signature: object, what: str) -> None:
    if not isinstance(signature, str) or not signature.strip():
        raise InvalidSignature(f"The {what} signature is missing.")


def require_refund_args(payment_id: object, amount: object) -> None:
    if not isinstance(payment_id, str) or not payment_id:
        raise ValidationError("A payment id is needed for a refund.", details={"fields": {"payment_id": "required"}})
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0):
        raise ValidationError("A refund amount must be a positive number of paise.",
                              details={"fields": {"amount": "must be positive"}})


