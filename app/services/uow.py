"""The one place a unit of work commits, and what runs once it has."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.extensions import db

log = logging.getLogger(__name__)

_AFTER_COMMIT = "cineverse_after_commit"


def after_commit(callback: Callable[[], object]) -> None:
    """Run callback once the current transaction commits; dropped if it rolls back.

    Tasks are enqueued and seat events published this way, so no worker or client ever sees a row
    that was not committed (pretix's TransactionAwareTask).
    """
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block flushed, or roll all of it back on any exception; then run the
    after-commit callbacks (a failing callback is logged, the commit stands)."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        db.session.info.pop(_AFTER_COMMIT, None)
        raise
    for callback in db.session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)
