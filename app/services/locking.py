"""Row locks wait a bounded time: a lock held too long becomes a clear error, never a queue of requests."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db

LOCK_TIMEOUT = "3s"


def lock_timeout() -> None:
    """Wait at most LOCK_TIMEOUT for any row lock in the current transaction (PostgreSQL; SQLite has none)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
