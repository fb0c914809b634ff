"""Row locks wait a bounded time: every PostgreSQL connection of the app waits at most LOCK_TIMEOUT_MS for a
lock, so no request queues behind another's row lock for long. A wait that runs out (or a deadlock) is
answered 503 `busy` with Retry-After (app/errors.py), never a 500 and never a wait without end.

Rows are always locked in one order: showtime, order, seats (each kind in id order), then bookings and
refunds; see app/services/orders.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

LOCK_TIMEOUT_MS = 3000


def init_app(app: Flask, db: Any) -> None:
    """Set lock_timeout on every new PostgreSQL connection of app's engine (SQLite has no row locks)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    @sa.event.listens_for(engine, "connect")
    def _bounded_lock_waits(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        dbapi_connection.commit()
