"""Refunds: recorded with the change that owes them, asked of the gateway once per key, reconciled.

A refund moves money, so it is asked of the gateway outside every row lock and transaction, with an
idempotency key of our refund's id (Razorpay's X-Refund-Idempotency; the key also rides in the refund's
notes). Whatever happens between the gateway's answer and our commit (a timeout, a killed worker, a
failed commit), the next attempt sends the same key, and looks the key up among the payment's refunds
first, so the customer is refunded exactly once. A refusal with no refund for our key at the gateway is
terminal: the refund is `failed` and its order `refund_failed`, listed for staff (GET
/api/admin/refunds?state=failed), who may retry it.

The three steps are separate units of work, run by workers.payments.process_refund:
claim (commit) -> ask the gateway (no transaction) -> record (commit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.errors import Conflict, NotFound, PaymentError
from app.extensions import db
from app.models import Order, OrderState, Payment, PaymentState, Refund, RefundState
from app.models._types import utcnow
from app.services import order_states, paging, tasks
from app.services.payment_gateways import GatewayRefund, get_gateway

log = logging.getLogger(__name__)

# Pending refunds are asked again after this long, doubling per attempt up to the cap.
RETRY_AFTER_S = 60
RETRY_CAP_S = 3600


def start(order: Order, payment: Payment, amount: int, reason: str) -> Refund:
    """Record a refund owed for payment and queue its request for after the commit (flushes only)."""
    refund = Refund(payment_id=payment.id, amount=amount, reason=reason, state=RefundState.PENDING)
    db.session.add(refund)
    db.session.flush()
    log.warning("refund %s started order=%s payment=%s amount=%s reason=%s", refund.id, order.public_id,
                payment.gateway_payment_id, amount, reason)
    tasks.enqueue_after_commit(tasks.PROCESS_REFUND, refund.id)
    return refund


@dataclass(frozen=True)
class RefundRequest:
    """What the gateway is asked, taken from the rows so that no row is held during the call."""

    refund_id: int
    key: str
    gateway_payment_id: str
    amount: int
    reason: str
    asked_before: bool


def claim(refund_id: int) -> RefundRequest | None:
    """Count an attempt at a pending refund (flushes only; commit before asking the gateway).

    None when the refund is no longer pending or another worker holds its row right now. Raises NotFound.
    """
    refund = db.session.scalar(sa.select(Refund).where(Refund.id == refund_id).with_for_update(skip_locked=True))
    if refund is None:
        if db.session.get(Refund, refund_id) is None:
            raise NotFound(f"Refund {refund_id} was not found.", code="refund_not_found")
        return None
    if refund.state != RefundState.PENDING:
        return None
    payment = db.session.get(Payment, refund.payment_id)
    assert payment is not None
    asked_before = refund.attempts > 0
    refund.attempts += 1
    refund.requested_at = utcnow()
    return RefundRequest(refund.id, refund.key, payment.gateway_payment_id, refund.amount, refund.reason,
                         asked_before)


def ask_gateway(request: RefundRequest) -> GatewayRefund | PaymentError:
    """Ask the gateway for the refund (call it outside any transaction).

    Returns the gateway's refund (made now or by an earlier attempt with the same key), or the gateway's
    refusal when it refused and holds no refund for the key. Raises ServiceUnavailable when the outcome
    is unknown: the caller retries later with the same key.
    """
    gateway = get_gateway()
    if request.asked_before:  # an earlier attempt may have been made at the gateway and lost on our side
        found = gateway.find_refund(request.gateway_payment_id, request.key)
        if found is not None:
            log.info("refund %s found at the gateway as %s", request.refund_id, found.id)
            return found
    try:
        return gateway.refund(request.gateway_payment_id, request.amount, key=request.key,
                              notes={"refund_id": str(request.refund_id), "reason": request.reason})
    except PaymentError as refusal:
        # a retried full refund is refused ("already refunded"): the gateway's own list settles it
        found = gateway.find_refund(request.gateway_payment_id, request.key)
        return found if found is not None else refusal


def record(refund_id: int, outcome: GatewayRefund | PaymentError) -> Refund:
    """Record the gateway's answer once (flushes only): processed, or failed with the order refund_failed.

    Raises NotFound.
    """
    refund = db.session.scalar(sa.select(Refund).where(Refund.id == refund_id).with_for_update())
    if refund is None:
        raise NotFound(f"Refund {refund_id} was not found.", code="refund_not_found")
    if refund.state != RefundState.PENDING:
        return refund  # another attempt recorded it
    payment = db.session.get(Payment, refund.payment_id)
    order = db.session.get(Order, payment.order_id) if payment else None
    assert payment is not None and order is not None
    if isinstance(outcome, PaymentError):
        refund.state = RefundState.FAILED
        refund.last_error = outcome.message[:300]
        if order.state == OrderState.REFUND_PENDING:
            order_states.move(order, OrderState.REFUND_FAILED)
        log.error("refund %s refused by the gateway order=%s: %s", refund.id, order.public_id, outcome.message)
        return refund
    refund.state = RefundState.PROCESSED
    refund.gateway_refund_id = outcome.id
    refund.last_error = None
    db.session.flush()
    refunded = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Refund.amount), 0)).where(
        Refund.payment_id == payment.id, Refund.state == RefundState.PROCESSED)) or 0
    if refunded >= payment.amount:
        payment.state = PaymentState.REFUNDED
    if order.state in (OrderState.REFUND_PENDING, OrderState.REFUND_FAILED):
        order_states.move(order, OrderState.REFUNDED)
    log.info("refund %s processed gateway_refund=%s order=%s", refund.id, outcome.id, order.public_id)
    tasks.enqueue_after_commit(tasks.SEND_REFUND_NOTICE, refund.id)
    return refund


def note_error(refund_id: int, message: str) -> None:
    """Keep the gateway's last transient error on a pending refund, for staff (flushes only)."""
    refund = db.session.get(Refund, refund_id)
    if refund is not None and refund.state == RefundState.PENDING:
        refund.last_error = message[:300]


def due_ids(limit: int = 100) -> list[int]:
    """Pending refunds whose last attempt is old enough to try again (a lost task, a gateway outage),
    backing off per attempt; the sweep queues them."""
    now = utcnow()
    rows = db.session.execute(
        sa.select(Refund.id, Refund.attempts, Refund.requested_at, Refund.created_at)
        .where(Refund.state == RefundState.PENDING, Refund.created_at < now - timedelta(seconds=RETRY_AFTER_S))
        .order_by(Refund.id).limit(limit * 5)
    ).all()
    due = []
    for refund_id, attempts, requested_at, created_at in rows:
        wait = min(RETRY_CAP_S, RETRY_AFTER_S * 2 ** max(0, attempts - 1))
        if (requested_at or created_at) < now - timedelta(seconds=wait):
            due.append(refund_id)
    return due[:limit]


def retry_failed(refund_id: int) -> Refund:
    """Staff: ask the gateway again for a refund it refused (flushes only; queued after the commit).

    Raises NotFound, Conflict `refund_not_failed`.
    """
    refund = db.session.scalar(sa.select(Refund).where(Refund.id == refund_id).with_for_update())
    if refund is None:
        raise NotFound(f"Refund {refund_id} was not found.", code="refund_not_found")
    if refund.state != RefundState.FAILED:
        raise Conflict("Only a failed refund can be retried.", code="refund_not_failed",
                       details={"state": refund.state.value})
    payment = db.session.get(Payment, refund.payment_id)
    order = db.session.get(Order, payment.order_id) if payment else None
    assert order is not None
    refund.state = RefundState.PENDING
    if order.state == OrderState.REFUND_FAILED:
        order_states.move(order, OrderState.REFUND_PENDING)
    tasks.enqueue_after_commit(tasks.PROCESS_REFUND, refund.id)
    return refund


def list_refunds(state: RefundState | None, page: int, per_page: int, refund_id: int | None = None,
                 ) -> tuple[list[dict[str, Any]], int]:
    """Refunds, newest first, optionally of one state, each with its order's public id and state, its
    payment's gateway id and the buyer (for staff: `failed` ones need someone to act)."""
    stmt = (sa.select(Refund, Payment.gateway_payment_id, Order.public_id, Order.state, Order.user_id)
            .join(Payment, Refund.payment_id == Payment.id).join(Order, Payment.order_id == Order.id))
    if state is not None:
        stmt = stmt.where(Refund.state == state)
    if refund_id is not None:
        stmt = stmt.where(Refund.id == refund_id)
    rows, total = paging.paged(stmt, (Refund.id.desc(),), page, per_page, rows=True)
    return [{"id": refund.id, "state": refund.state.value, "amount": refund.amount, "reason": refund.reason,
             "attempts": refund.attempts, "requested_at": refund.requested_at, "last_error": refund.last_error,
             "gateway_refund_id": refund.gateway_refund_id, "created_at": refund.created_at,
             "order_id": order_id, "order_state": order_state.value, "gateway_payment_id": gateway_payment_id,
             "user_id": user_id}
            for refund, gateway_payment_id, order_id, order_state, user_id in rows], total
