"""Payment tasks: webhook confirmation, refunds, and expiring unpaid orders."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.exc
from celery import shared_task

from app.celery_ext import single_instance
from app.errors import AppError
from app.extensions import db
from app.models import WebhookEvent
from app.models._types import utcnow
from app.services import orders, refunds
from app.services.seats import expiry
from app.services.uow import transaction
from app.services.webhooks import event_refs

log = logging.getLogger(__name__)

CONFIRMING_EVENTS = {"payment.captured", "order.paid"}
FAILING_EVENTS = {"payment.failed"}
_TRANSIENT = (sqlalchemy.exc.OperationalError,)


@shared_task(bind=True, name="workers.payments.process_webhook", max_retries=8, acks_late=True)
def process_webhook(self, event_row_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Act on a stored webhook once: confirm (book or refund) or fail its order; idempotent."""
    try:
        with transaction():
            event = db.session.scalar(
                sa.select(WebhookEvent).where(WebhookEvent.id == event_row_id).with_for_update()
            )
            if event is None or event.processed_at is not None:
                return event.result if event else None
            event.result = _apply_or_roll_back(event)
            event.processed_at = utcnow()
            result = event.result
    except _TRANSIENT as exc:
        countdown = min(300, 5 * 2**self.request.retries)
        log.warning("webhook %s failed (attempt %s), retrying in %ss: %s", event_row_id,
                    self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    log.info("webhook %s processed: %s", event_row_id, result)
    return result


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


@shared_task(bind=True, name="workers.payments.process_refund", max_retries=10, acks_late=True)
def process_refund(self, refund_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Ask the gateway for a pending refund, outside any transaction, with its idempotency key; record the
    answer. An unknown outcome (gateway down, timeout) is retried with the same key; a refusal is final."""
    try:
        with transaction():
            request = refunds.claim(refund_id)
        if request is None:  # done already, or another worker is asking right now
            return None
        try:
            outcome = refunds.ask_gateway(request)
        except AppError as exc:
            if exc.status < 500:
                raise
            with transaction():
                refunds.note_error(refund_id, exc.message)
            countdown = min(600, 10 * 2**self.request.retries)
            log.warning("refund %s not processed (attempt %s): %s", refund_id, self.request.retries + 1, exc)
            raise self.retry(exc=exc, countdown=countdown) from exc
        with transaction():
            state = refunds.record(refund_id, outcome).state.value
    except _TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
    return state


@expiry.on_holds_lapsed
def expire_orders_on_lapse(lapsed: expiry.Lapsed) -> None:
    """When holds lapse, the orders waiting on those seats expire with them."""
    with transaction():
        count = orders.expire_orders_for_lapsed_holds(lapsed)
    if count:
        log.info("expired %s orders of showtime %s whose holds lapsed", count, lapsed.showtime_id)


@shared_task(name="workers.payments.expire_orders", acks_late=True)
@single_instance("expire-orders", 50_000, skipped=0)
def expire_orders() -> int:
    """Expire waiting orders whose payment window has passed; retry stuck webhooks and refunds."""
    with transaction():
        expired = orders.expire_stale_orders()
    cutoff = utcnow() - timedelta(seconds=30)  # younger ones are still in their first task
    stuck = db.session.scalars(
        sa.select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None), WebhookEvent.received_at < cutoff)
        .order_by(WebhookEvent.id).limit(100)
    ).all()
    for event_id in stuck:
        process_webhook.apply_async(args=[event_id])
    for refund_id in refunds.due_ids():
        process_refund.apply_async(args=[refund_id])
    if expired:
        log.info("expired %s unpaid orders", expired)
    return expired
