"""Ticket PDF rendering, off the request path."""

from __future__ import annotations

import logging

import sqlalchemy.exc
from celery import shared_task

from app.errors import Conflict, NotFound
from app.services import tasks
from app.services import tickets as ticket_service
from app.services.uow import transaction

log = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(bind=True, name=tasks.RENDER_TICKET, max_retries=MAX_RETRIES, acks_late=True)
def render_ticket(self, booking_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """Render booking_id's ticket PDF; idempotent (an existing file is kept), retried on transient errors."""
    try:
        with transaction():
            path = ticket_service.render_ticket(booking_id)
    except (NotFound, Conflict) as exc:
        # Nothing to retry: the booking is gone or cancelled.
        log.warning("ticket for booking %s not rendered: %s", booking_id, exc.message)
        return None
    except (sqlalchemy.exc.OperationalError, OSError, ticket_service.TicketRenderError) as exc:
        countdown = min(300, 10 * 2**self.request.retries)
        log.warning("ticket for booking %s failed (attempt %s), retrying in %ss: %s",
                    booking_id, self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    tasks.enqueue(tasks.SEND_CONFIRMATION, booking_id)  # the mail carries the PDF: it follows the rendering
    return path.name
