"""The audit trail: every staff write records who did what to which row, with the changes, in the same
transaction as the change (so both commit or roll back together)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, User
from app.services import paging

log = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def audit(actor: User, action: str, entity: str, entity_id: object, changes: dict[str, Any]) -> AuditLog:
    """Record one staff write (flushes with the change it describes)."""
    row = AuditLog(actor_id=actor.id, action=action, entity=entity, entity_id=str(entity_id),
                   changes={k: _jsonable(v) if not isinstance(v, list) else [_jsonable(x) for x in v]
                            for k, v in changes.items()},
                   created_at=datetime.now(timezone.utc))
    db.session.add(row)
    db.session.flush()
    log.info("audit: user %s %s %s %s", actor.id, action, entity, entity_id)
    return row


def apply_changes(obj: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given fields; returns {field: [old, new]} for those that changed."""
    changes: dict[str, list[Any]] = {}
    for field, new in data.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [old, new]
            setattr(obj, field, new)
    return changes


def list_audit(page: int, per_page: int, entity: str | None = None, actor_id: int | None = None,
               ) -> tuple[list[AuditLog], int]:
    """The audit trail, newest first, by entity or actor."""
    stmt = sa.select(AuditLog)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if actor_id is not None:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    return paging.paged(stmt, (AuditLog.created_at.desc(), AuditLog.id.desc()), page, per_page)
