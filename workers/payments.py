"""Payment tasks: webhook confirmation, refunds, and expiring unpaid orders."""

from __future__ import annotations

import logging

import sqlalchemy.exc
from celery import shared_task

from app.celery_ext import single_instance
from app.errors import AppError
from app.services import orders, refunds, tasks, webhooks
from app.services.uow import transaction

log = logging.getLogger(__name__)

_TRANSIENT = (sqlalchemy.exc.OperationalError,)


@shared_task(bind=True, name=tasks.PROCESS_WEBHOOK, max_retries=8, acks_late=True)
def process_webhook(self, event_row_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Act on a stored webhook once: confirm (book or refund) or fail its order; idempotent."""
    try:
        with transaction():
            result = webhooks.process(event_row_id)
    except _TRANSIENT as exc:
        countdown = min(300, 5 * 2**self.request.retries)
        log.warning("webhook %s failed (attempt %s), retrying in %ss: %s", event_row_id,
                    self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    log.info("webhook %s processed: %s", event_row_id, result)
    return result


@shared_task(bind=True, name=tasks.PROCESS_REFUND, max_retries=10, acks_late=True)
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


@shared_task(name=tasks.EXPIRE_ORDERS, acks_late=True)
@single_instance("expire-orders", 50_000, skipped=0)
def expire_orders() -> int:
    """Expire waiting orders whose payment window has passed; retry stuck webhooks and refunds."""
    with transaction():
        expired = orders.expire_stale_orders()
    for event_id in webhooks.unprocessed_ids():
        process_webhook.apply_async(args=[event_id])
    for refund_id in refunds.due_ids():
        process_refund.apply_async(args=[refund_id])
    if expired:
        log.info("expired %s unpaid orders", expired)
    return expired
