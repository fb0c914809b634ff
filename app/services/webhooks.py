"""Webhook intake: check the signature over the raw body, parse the event, store it once.

Confirming or failing orders from a stored event is the payment flow's job (a Celery task given the
stored row's id); this module only makes sure that what is stored is authentic and stored once. The
unique `webhook_events.event_id` is what makes a redelivered, replayed or concurrently delivered event a
duplicate: never an in-memory set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import AppError, ValidationError
from app.extensions import db
from app.models import WebhookEvent
from app.models._types import utcnow
from app.services import orders, tasks
from app.services.payment_gateways import get_gateway
from app.textcheck import has_lone_surrogate

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"
MAX_BODY_BYTES = 1024 * 1024
_EVENT_ID = re.compile(r"^[A-Za-z0-9_:.\-]{1,64}$")
_EVENT_TYPE = re.compile(r"^[a-z0-9_.]{1,64}$")


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="invalid_webhook")


def verify_signature(raw_body: bytes, signature: str | None) -> None:
    """Check X-Razorpay-Signature over the raw body with the configured gateway's webhook secret.

    Raises InvalidSignature (400, invalid_signature) when it is missing or does not match.
    """
    get_gateway().verify_webhook_signature(raw_body, signature)


def parse_event(raw_body: bytes) -> dict[str, Any]:
    """The event object of a webhook body. Raises ValidationError (invalid_webhook) when it is not one."""
    if len(raw_body) > MAX_BODY_BYTES:
        raise _invalid("The webhook body is too large.")
    try:
        event = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _invalid("The webhook body is not JSON.") from None
    if has_lone_surrogate(event):  # could not be stored (app/textcheck.py)
        raise _invalid("The webhook body holds text that is not valid Unicode.")
    if not isinstance(event, dict):
        raise _invalid("The webhook body is not an event object.")
    event_type = event.get("event")
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        raise _invalid("The webhook has no valid event type.")
    if not isinstance(event.get("payload", {}), dict):
        raise _invalid("The webhook payload is not an object.")
    return event


@dataclass(frozen=True)
class EventRefs:
    """What an event is about, for routing it to an order: the gateway's ids and the amount."""

    event: str
    gateway_order_id: str | None
    gateway_payment_id: str | None
    amount: int | None
    currency: str | None
    payment_status: str | None


def event_refs(event: dict[str, Any]) -> EventRefs:
    """Pull the gateway order id, payment id, amount and payment status out of a Razorpay event."""
    payload = event.get("payload") or {}
    payment = _entity(payload, "payment")
    order = _entity(payload, "order")
    order_id = _gateway_id(payment.get("order_id")) or _gateway_id(order.get("id"))
    amount = payment.get("amount", order.get("amount_paid"))
    return EventRefs(
        event=str(event.get("event")),
        gateway_order_id=order_id,
        gateway_payment_id=_gateway_id(payment.get("id")),
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=_text(payment.get("currency")) or _text(order.get("currency")),
        payment_status=_text(payment.get("status")),
    )


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any]:
    wrapper = payload.get(name)
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# Gateway ids as Razorpay makes them (order_..., pay_...; our columns hold 64). Anything else cannot name
# one of our orders or payments, and must not reach a query (a NUL or an over-long id would fail there).
_GATEWAY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


def _gateway_id(value: object) -> str | None:
    return value if isinstance(value, str) and _GATEWAY_ID.match(value) else None


def event_id_for(header_value: str | None, raw_body: bytes) -> str:
    """The event's id: X-Razorpay-Event-Id, or (if a sender omits it) one derived from the body, so that
    redelivering the same body is still a duplicate. Raises ValidationError for a malformed header."""
    if header_value is None or not header_value.strip():
        return "sha256_" + hashlib.sha256(raw_body).hexdigest()[:57]
    value = header_value.strip()
    if not _EVENT_ID.match(value):
        raise _invalid("The webhook event id is malformed.")
    return value


def record_event(event_id: str, event: dict[str, Any]) -> tuple[WebhookEvent, bool]:
    """Store a verified event once (flushes, never commits); (row, True) when new, (row, False) when seen.

    Concurrent deliveries of one event id are settled by the unique key: exactly one insert wins.
    Raises ValidationError for a malformed event id or event.
    """
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise _invalid("The webhook event id is malformed.")
    event_type = event.get("event") if isinstance(event, dict) else None
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        raise _invalid("The webhook has no valid event type.")

    values = {"event_id": event_id, "event_type": event_type, "payload": event, "received_at": utcnow()}
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # ON CONFLICT DO NOTHING: a second delivery waits for the first one's transaction, then does nothing,
    # instead of failing the whole unit of work with an IntegrityError.
    stmt = (insert(WebhookEvent).values(**values)
            .on_conflict_do_nothing(index_elements=["event_id"]).returning(WebhookEvent.id))
    new_id = db.session.execute(stmt).scalar_one_or_none()
    if new_id is not None:
        row = db.session.get(WebhookEvent, new_id)
        assert row is not None
        log.info("webhook event %s (%s) stored as %s", event_id, event_type, new_id)
        return row, True
    existing = db.session.scalars(sa.select(WebhookEvent).where(WebhookEvent.event_id == event_id)).one()
    log.info("webhook event %s (%s) already seen as %s", event_id, event_type, existing.id)
    return existing, False


def receive(raw_body: bytes, signature: str | None, event_id_header: str | None) -> tuple[WebhookEvent, bool]:
    """The whole intake for POST /api/payments/webhook: verify, parse, store once (flushes, never commits).

    Raises InvalidSignature (400) for a missing or bad signature, ValidationError (422, invalid_webhook) for
    a signed body that is not an event. A duplicate is not an error: it returns (row, False).
    """
    verify_signature(raw_body, signature)
    event = parse_event(raw_body)
    return record_event(event_id_for(event_id_header, raw_body), event)


def accept(raw_body: bytes, signature: str | None, event_id_header: str | None) -> tuple[WebhookEvent, bool]:
    """receive(), then queue a new event's processing by a worker for after the commit."""
    row, is_new = receive(raw_body, signature, event_id_header)
    if is_new:
        tasks.enqueue_after_commit(tasks.PROCESS_WEBHOOK, row.id)
    return row, is_new


# ---- processing (workers.payments.process_webhook) -------------------------------------------------

CONFIRMING_EVENTS = {"payment.captured", "order.paid"}
FAILING_EVENTS = {"payment.failed"}


def process(event_row_id: int) -> str | None:
    """Act on a stored event once (flushes only): confirm its payment (book or refund) or record a failed
    attempt; the outcome is kept on the event. Idempotent: a processed event answers its result again."""
    event = db.session.scalar(sa.select(WebhookEvent).where(WebhookEvent.id == event_row_id).with_for_update())
    if event is None or event.processed_at is not None:
        return event.result if event else None
    event.result = _apply_or_roll_back(event)
    event.processed_at = utcnow()
    return event.result


def unprocessed_ids(older_than_s: int = 30, limit: int = 100) -> list[int]:
    """Stored events still unprocessed after older_than_s (a lost task): the sweep queues them again.
    Younger ones are still in their first task."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    return list(db.session.scalars(
        sa.select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None), WebhookEvent.received_at < cutoff)
        .order_by(WebhookEvent.id).limit(limit)
    ))


def _apply_or_roll_back(event: WebhookEvent) -> str:
    """Act on the event inside a savepoint: a domain error (unknown order, a payment of another order)
    undoes whatever the attempt had written, and only the refusal is recorded on the event."""
    try:
        with db.session.begin_nested():
            return _apply(event)
    except AppError as exc:
        return f"rejected:{exc.code}"


def _apply(event: WebhookEvent) -> str:
    refs = event_refs(event.payload)
    if not refs.gateway_order_id:
        return "ignored:no_order"
    if refs.event in CONFIRMING_EVENTS:
        if not refs.gateway_payment_id:
            return "ignored:no_payment"
        outcome = orders.confirm_payment(refs.gateway_order_id, refs.gateway_payment_id, refs.amount,
                                         refs.currency)
        if outcome.booking is not None:
            return f"booked:{outcome.booking.reference}"
        return f"refund:{outcome.order.state.value}"
    if refs.event in FAILING_EVENTS:
        order = orders.fail_payment(refs.gateway_order_id, refs.gateway_payment_id)
        return f"failed:{order.state.value}" if order else "ignored:unknown_order"
    return "ignored:event_type"
