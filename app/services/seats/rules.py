"""When a seat may be sold: the one definition. Python asks it here, SQL filters come from it, and the lock
script is given its values (scripts.py), so the fast path and the database agree on what is for sale.

A seat is sellable when its state is available; its showtime is on sale while it is scheduled and has not
started."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from app.errors import Conflict
from app.models import SeatState, Showtime, ShowtimeSeat, ShowtimeStatus

SELLABLE_SEAT_STATE = SeatState.AVAILABLE
ON_SALE_STATUS = ShowtimeStatus.SCHEDULED


def seat_sellable(state: SeatState | str) -> bool:
    return (state.value if isinstance(state, SeatState) else state) == SELLABLE_SEAT_STATE.value


def cancelled(showtime_id: int) -> Conflict:
    return Conflict("This showtime was cancelled; its seats cannot be sold.", code="showtime_cancelled",
                    details={"showtime_id": showtime_id})


def started(showtime_id: int) -> Conflict:
    return Conflict("This showtime has already started; its seats cannot be sold.", code="showtime_started",
                    details={"showtime_id": showtime_id})


def off_sale(showtime_id: int, status: ShowtimeStatus | str, starts_at: datetime,
             now: datetime | None = None) -> Conflict | None:
    """Why a showtime's seats cannot be sold now (Conflict `showtime_cancelled` / `showtime_started`), or None."""
    if (status.value if isinstance(status, ShowtimeStatus) else status) != ON_SALE_STATUS.value:
        return cancelled(showtime_id)
    if starts_at <= (now or datetime.now(timezone.utc)):
        return started(showtime_id)
    return None


def on_sale_clauses(now: datetime | None = None) -> list[sa.ColumnElement[bool]]:
    """The same rule as SQL: showtimes on sale now."""
    return [Showtime.status == ON_SALE_STATUS, Showtime.starts_at > (now or datetime.now(timezone.utc))]


def sellable_seat_clause() -> sa.ColumnElement[bool]:
    return ShowtimeSeat.state == SELLABLE_SEAT_STATE
