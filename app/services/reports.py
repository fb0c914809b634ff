"""Staff reports: sales by day, movie or theatre, and occupancy per showtime; SQL aggregates only.

Days are calendar days in APP_TIMEZONE. Sales count the bookings made in the range (by when they were
made), whatever happened to them since: `gross` is what they were sold for, `refunds` what has been or
is being refunded on them (refunds that did not fail), `net` the difference. Refunds of payments that
never became a booking (seats gone, amount mismatch) are not sales and are not in these figures.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from app.errors import ValidationError
from app.extensions import db, get_redis
from app.models import (
    Booking,
    BookingState,
    Movie,
    Payment,
    Refund,
    RefundState,
    Screen,
    SeatState,
    Showtime,
    ShowtimeSeat,
    Theatre,
)
from app.services import catalogue, paging
from app.services.seats.keys import expiry_key

MAX_RANGE_DAYS = 366
CURRENCY = "INR"


SelectT = TypeVar("SelectT", bound=sa.Select)


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["APP_TIMEZONE"])


def _range(date_from: date | None, date_to: date | None) -> tuple[date, date, datetime, datetime]:
    """The local days asked for (default: the 30 days up to today) and their UTC bounds [start, end)."""
    tz = _tz()
    today = datetime.now(tz).date()
    date_to = date_to or (date_from + timedelta(days=29) if date_from else today)
    date_from = date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise ValidationError("`from` is after `to`.", details={"fields": {"from": "must not be after `to`"}})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationError(f"A report covers at most {MAX_RANGE_DAYS} days.", code="report_range_too_long",
                              details={"fields": {"to": f"at most {MAX_RANGE_DAYS} days after `from`"}})
    start = datetime.combine(date_from, time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
    return date_from, date_to, start, end


def _local_day(column: Any) -> Any:
    """The calendar day of a UTC timestamp column in APP_TIMEZONE, as SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(current_app.config["APP_TIMEZONE"], column), sa.Date)
    # SQLite (the embedded default) has no time zones: shift by the zone's current offset.
    offset = datetime.now(_tz()).utcoffset() or timedelta()
    return sa.func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def _seats_sold(column: Any) -> Any:
    return sa.func.json_array_length(column)


def _of_movie_and_theatre(stmt: SelectT, movie_id: int | None, theatre_id: int | None) -> SelectT:
    """stmt (which selects from Showtime) joined to its movie, screen and theatre, narrowed to the given ones."""
    stmt = (stmt.join(Movie, Movie.id == Showtime.movie_id)
            .join(Screen, Screen.id == Showtime.screen_id)
            .join(Theatre, Theatre.id == Screen.theatre_id))
    if theatre_id is not None:
        stmt = stmt.where(Theatre.id == theatre_id)
    if movie_id is not None:
        stmt = stmt.where(Movie.id == movie_id)
    return stmt


def _money(amount: Any) -> dict[str, Any]:
    return {"amount": int(amount or 0), "currency": CURRENCY}


def sales(date_from: date | None, date_to: date | None, group_by: str, page: int, per_page: int,
          theatre_id: int | None = None, movie_id: int | None = None) -> dict[str, Any]:
    """Bookings, seats, gross, refunds and net (paise) grouped by day, movie or theatre, a page of
    groups plus the totals of the whole range. Raises ValidationError for a bad range."""
    day_from, day_to, start, end = _range(date_from, date_to)
    refunded = (sa.select(Payment.order_id.label("order_id"), sa.func.sum(Refund.amount).label("amount"))
                .join(Refund, Refund.payment_id == Payment.id)
                .where(Refund.state != RefundState.FAILED)
                .group_by(Payment.order_id).subquery())
    base = (sa.select(Booking.id.label("booking_id"), Booking.amount.label("amount"),
                      _seats_sold(Booking.seat_labels).label("seats"),
                      sa.func.coalesce(refunded.c.amount, 0).label("refunded"),
                      _local_day(Booking.created_at).label("day"),
                      Movie.id.label("movie_id"), Movie.title.label("movie_title"),
                      Theatre.id.label("theatre_id"), Theatre.name.label("theatre_name"))
            .join(Showtime, Showtime.id == Booking.showtime_id)
            .outerjoin(refunded, refunded.c.order_id == Booking.order_id)
            .where(Booking.created_at >= start, Booking.created_at < end))
    base = _of_movie_and_theatre(base, movie_id, theatre_id)
    rows = base.subquery()
    measures = (sa.func.count(rows.c.booking_id).label("bookings"),
                sa.func.coalesce(sa.func.sum(rows.c.seats), 0).label("seats_sold"),
                sa.func.coalesce(sa.func.sum(rows.c.amount), 0).label("gross"),
                sa.func.coalesce(sa.func.sum(rows.c.refunded), 0).label("refunds"))
    keys: tuple[Any, ...]
    order: tuple[Any, ...]
    if group_by == "day":
        keys, order = (rows.c.day,), (rows.c.day,)
    elif group_by == "movie":
        keys, order = (rows.c.movie_id, rows.c.movie_title), (rows.c.movie_title, rows.c.movie_id)
    else:
        keys, order = (rows.c.theatre_id, rows.c.theatre_name), (rows.c.theatre_name, rows.c.theatre_id)
    grouped = sa.select(*keys, *measures).group_by(*keys)
    page_rows, total_groups = paging.paged(grouped, order, page, per_page, rows=True)
    totals = db.session.execute(sa.select(*measures)).one()

    def figures(row: Any) -> dict[str, Any]:
        gross, refunds = int(row.gross or 0), int(row.refunds or 0)
        return {"bookings": int(row.bookings or 0), "seats_sold": int(row.seats_sold or 0),
                "gross": _money(gross), "refunds": _money(refunds), "net": _money(gross - refunds)}

    items = []
    for row in page_rows:
        if group_by == "day":
            day = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
            key: dict[str, Any] = {"key": day.isoformat(), "label": day.isoformat()}
        elif group_by == "movie":
            key = {"key": str(row.movie_id), "label": row.movie_title, "movie_id": row.movie_id}
        else:
            key = {"key": str(row.theatre_id), "label": row.theatre_name, "theatre_id": row.theatre_id}
        items.append({**key, **figures(row)})
    return {"from": day_from, "to": day_to, "group_by": group_by, "currency": CURRENCY,
            "totals": figures(totals), "items": items, "total": total_groups, "page": page, "per_page": per_page}


def occupancy(date_from: date | None, date_to: date | None, page: int, per_page: int,
              theatre_id: int | None = None, movie_id: int | None = None, include_held: bool = False,
              ) -> dict[str, Any]:
    """Per showtime starting in the range: capacity (seats not blocked), seats sold, the occupancy
    percentage and, with include_held, the seats held in Redis right now. Raises ValidationError."""
    day_from, day_to, start, end = _range(date_from, date_to)
    counts = (sa.select(ShowtimeSeat.showtime_id.label("showtime_id"),
                        sa.func.count().filter(ShowtimeSeat.state != SeatState.BLOCKED).label("capacity"),
                        sa.func.count().filter(ShowtimeSeat.state == SeatState.BOOKED).label("sold"))
              .group_by(ShowtimeSeat.showtime_id).subquery())
    stmt = (sa.select(Showtime.id, Showtime.starts_at, Showtime.status, Movie.id.label("movie_id"),
                      Movie.title, Theatre.id.label("theatre_id"), Theatre.name.label("theatre_name"),
                      Screen.name.label("screen_name"), sa.func.coalesce(counts.c.capacity, 0).label("capacity"),
                      sa.func.coalesce(counts.c.sold, 0).label("sold"))
            .outerjoin(counts, counts.c.showtime_id == Showtime.id)
            .where(Showtime.starts_at >= start, Showtime.starts_at < end))
    stmt = _of_movie_and_theatre(stmt, movie_id, theatre_id)
    total = paging.count(stmt)
    listed = stmt.subquery()
    summary = db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(listed.c.capacity), 0),
                                           sa.func.coalesce(sa.func.sum(listed.c.sold), 0))).one()
    rows = db.session.execute(paging.window(stmt.order_by(Showtime.starts_at, Showtime.id), page, per_page)).all()
    held = _held_now([row.id for row in rows]) if include_held else {}
    items = [{
        "showtime_id": row.id, "starts_at": row.starts_at, "status": row.status.value,
        "movie": {"id": row.movie_id, "title": row.title},
        "theatre": {"id": row.theatre_id, "name": row.theatre_name}, "screen": row.screen_name,
        "capacity": int(row.capacity), "sold": int(row.sold),
        "held": held.get(row.id) if include_held else None,
        "occupancy_percent": _percent(int(row.sold), int(row.capacity)),
    } for row in rows]
    capacity, sold = int(summary[0]), int(summary[1])
    return {"from": day_from, "to": day_to, "items": items, "total": total, "page": page, "per_page": per_page,
            "totals": {"showtimes": total, "capacity": capacity, "sold": sold,
                       "occupancy_percent": _percent(sold, capacity)}}


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _held_now(showtime_ids: list[int]) -> dict[int, int]:
    """Seats held right now per showtime: one pipelined ZCOUNT of each expiry set past Redis's clock."""

    if not showtime_ids:
        return {}
    client = get_redis()
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    pipe = client.pipeline(transaction=False)
    for showtime_id in showtime_ids:
        pipe.zcount(expiry_key(showtime_id), f"({now_ms}", "+inf")
    return {sid: int(n) for sid, n in zip(showtime_ids, pipe.execute(), strict=True)}


def showtime_sales(showtime_id: int) -> dict[str, Any]:
    """Seats by state and section, confirmed bookings and revenue (paise) of one showtime. Raises NotFound."""
    showtime = catalogue.get_showtime(showtime_id)
    seat_rows = db.session.execute(
        sa.select(ShowtimeSeat.section, ShowtimeSeat.state, sa.func.count(), sa.func.coalesce(
            sa.func.sum(ShowtimeSeat.price), 0))
        .where(ShowtimeSeat.showtime_id == showtime_id).group_by(ShowtimeSeat.section, ShowtimeSeat.state)
    ).all()
    seats = {state.value: 0 for state in SeatState}
    sections: dict[str, dict[str, int]] = {}
    for section, state, count, _ in seat_rows:
        seats[state.value] += count
        entry = sections.setdefault(section, {s.value: 0 for s in SeatState})
        entry[state.value] += count
    bookings, revenue = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Booking.amount), 0))
        .where(Booking.showtime_id == showtime_id, Booking.state == BookingState.CONFIRMED)
    ).one()
    cancelled = db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.showtime_id == showtime_id, Booking.state == BookingState.CANCELLED)) or 0
    return {
        "showtime_id": showtime.id, "status": showtime.status.value, "starts_at": showtime.starts_at,
        "seats_total": sum(seats.values()), "seats": seats,
        "sections": [{"name": name, **counts} for name, counts in sorted(sections.items())],
        "bookings_confirmed": bookings, "bookings_cancelled": cancelled,
        "revenue": {"amount": int(revenue), "currency": "INR"},
    }
