"""Account housekeeping."""

from __future__ import annotations

import logging

from celery import shared_task

from app.services import revocation, tasks
from app.services.uow import transaction

log = logging.getLogger(__name__)


@shared_task(name=tasks.PURGE_REVOKED_TOKENS, acks_late=True)
def purge_revoked_tokens() -> int:
    """Delete revocation rows of tokens past their expiry (they fail the exp check anyway); idempotent."""
    with transaction():
        purged = revocation.purge_expired_revocations()
    if purged:
        log.info("purged %s expired token revocations", purged)
    return purged
