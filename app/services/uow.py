"""The one place a unit of work commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.extensions import db


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block flushed, or roll all of it back on any exception."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
