"""Staff: the catalogue. Movies, theatres, screens (layouts) and showtimes, and cancelling a showtime with
its sales. Every write is audited in its own transaction (app/services/audit.py). Functions flush, never
commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import (
    Booking,
    BookingState,
    Movie,
    Order,
    OrderState,
    Screen,
    SeatState,
    Showtime,
    ShowtimeSeat,
    ShowtimeStatus,
    Theatre,
    User,
)
from app.services import bookings, catalogue, paging
from app.services.audit import apply_changes, audit
from app.services.layouts import validate_layout

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- movies


def list_movies(page: int, per_page: int, q: str | None = None, include_inactive: bool = True,
                ) -> tuple[list[Movie], int]:
    stmt = sa.select(Movie)
    if q:
        stmt = stmt.where(sa.func.lower(Movie.title).like(catalogue._like(q.strip()), escape="\\"))
    if not include_inactive:
        stmt = stmt.where(Movie.is_active.is_(True))
    return paging.paged(stmt, (Movie.title, Movie.id), page, per_page)


def _movie(movie_id: int) -> Movie:
    movie = db.session.get(Movie, movie_id)
    if movie is None:
        raise NotFound(f"Movie {movie_id} was not found.", code="movie_not_found")
    return movie


def create_movie(actor: User, data: dict[str, Any]) -> Movie:
    movie = Movie(**data)
    db.session.add(movie)
    db.session.flush()
    audit(actor, "movie.create", "movie", movie.id, data)
    return movie


def update_movie(actor: User, movie_id: int, data: dict[str, Any]) -> Movie:
    """Raises NotFound `movie_not_found`."""
    movie = _movie(movie_id)
    changes = apply_changes(movie, data)
    if changes:
        db.session.flush()
        audit(actor, "movie.update", "movie", movie.id, changes)
    return movie


def deactivate_movie(actor: User, movie_id: int) -> Movie:
    """Take a movie out of the public catalogue (its showtimes and bookings stay). Raises NotFound."""
    movie = _movie(movie_id)
    if movie.is_active:
        movie.is_active = False
        db.session.flush()
        audit(actor, "movie.deactivate", "movie", movie.id, {"is_active": [True, False]})
    return movie


# ---------------------------------------------------------------- theatres and screens


def _theatre(theatre_id: int) -> Theatre:
    theatre = db.session.get(Theatre, theatre_id)
    if theatre is None:
        raise NotFound(f"Theatre {theatre_id} was not found.", code="theatre_not_found")
    return theatre


def create_theatre(actor: User, data: dict[str, Any]) -> Theatre:
    theatre = Theatre(**data)
    db.session.add(theatre)
    db.session.flush()
    audit(actor, "theatre.create", "theatre", theatre.id, data)
    return theatre


def update_theatre(actor: User, theatre_id: int, data: dict[str, Any]) -> Theatre:
    """Raises NotFound `theatre_not_found`."""
    theatre = _theatre(theatre_id)
    changes = apply_changes(theatre, data)
    if changes:
        db.session.flush()
        audit(actor, "theatre.update", "theatre", theatre.id, changes)
    return theatre


def _flush_screen() -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict("The theatre already has a screen with this name.", code="screen_name_taken") from exc


def create_screen(actor: User, theatre_id: int, name: str, layout: dict[str, Any]) -> Screen:
    """Add a screen with a validated layout. Raises NotFound, ValidationError (layout), Conflict
    `screen_name_taken`."""
    theatre = _theatre(theatre_id)
    screen = Screen(theatre=theatre, name=name, layout=validate_layout(layout))
    db.session.add(screen)
    _flush_screen()
    audit(actor, "screen.create", "screen", screen.id, {"theatre_id": theatre.id, "name": name, "layout": layout})
    return screen


def update_screen(actor: User, screen_id: int, data: dict[str, Any]) -> Screen:
    """Rename a screen or change its layout; existing showtimes keep the seats they were created with."""
    screen = db.session.get(Screen, screen_id)
    if screen is None:
        raise NotFound(f"Screen {screen_id} was not found.", code="screen_not_found")
    if "layout" in data:
        data = {**data, "layout": validate_layout(data["layout"])}  # stored as checked, as create_screen does
    changes = apply_changes(screen, data)
    if changes:
        _flush_screen()
        audit(actor, "screen.update", "screen", screen.id, changes)
    return screen


# ---------------------------------------------------------------- showtimes


def _check_prices(screen: Screen, prices: dict[str, int] | None) -> None:
    if not prices:
        return
    sections = {s["name"] for s in screen.layout["sections"]}
    unknown = sorted(set(prices) - sections)
    if unknown:
        raise ValidationError("Prices name sections this screen does not have.", code="unknown_sections",
                              details={"fields": {"prices": f"unknown sections: {', '.join(unknown)}"},
                                       "sections": sorted(sections)})


def _future(starts_at: datetime) -> None:
    if starts_at <= datetime.now(timezone.utc) + timedelta(minutes=5):
        raise ValidationError("A showtime must start in the future.", code="showtime_in_past",
                              details={"fields": {"starts_at": "must be in the future"}})


def create_showtime(actor: User, movie_id: int, screen_id: int, starts_at: datetime,
                    prices: dict[str, int] | None = None) -> Showtime:
    """Schedule a showtime and create its seats. Raises NotFound (movie, screen), ValidationError
    (`showtime_in_past`, `showtime_clash`, `unknown_sections`)."""
    movie = catalogue.get_movie(movie_id)
    screen = db.session.get(Screen, screen_id)
    if screen is None:
        raise NotFound(f"Screen {screen_id} was not found.", code="screen_not_found")
    _future(starts_at)
    _check_prices(screen, prices)
    showtime = catalogue.schedule_showtime(movie, screen, starts_at, prices)
    audit(actor, "showtime.create", "showtime", showtime.id,
          {"movie_id": movie.id, "screen_id": screen.id, "starts_at": starts_at, "prices": prices or {}})
    return showtime


def _showtime_for_update(showtime_id: int) -> Showtime:
    showtime = db.session.scalar(sa.select(Showtime).where(Showtime.id == showtime_id).with_for_update())
    if showtime is None:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    if showtime.status is ShowtimeStatus.CANCELLED:
        raise Conflict("This showtime was cancelled.", code="showtime_cancelled")
    return showtime


def _sold(showtime_id: int) -> dict[str, int]:
    bookings = db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.showtime_id == showtime_id, Booking.state == BookingState.CONFIRMED)) or 0
    open_orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(
        Order.showtime_id == showtime_id, Order.state.in_([OrderState.CREATED, OrderState.PAID]))) or 0
    return {"bookings": bookings, "open_orders": open_orders}


def update_showtime(actor: User, showtime_id: int, starts_at: datetime | None = None,
                    prices: dict[str, int] | None = None) -> Showtime:
    """Move a showtime (only while nothing is sold or being paid for) and/or change section prices of
    the seats still for sale. Raises NotFound, Conflict `showtime_cancelled` / `showtime_has_bookings`,
    ValidationError `showtime_in_past` / `showtime_clash` / `unknown_sections`."""
    showtime = _showtime_for_update(showtime_id)
    changes: dict[str, Any] = {}
    if starts_at is not None and starts_at != showtime.starts_at:
        sold = _sold(showtime.id)
        if any(sold.values()):
            raise Conflict("A showtime with bookings or open orders cannot be moved; cancel bookings first.",
                           code="showtime_has_bookings", details=sold)
        _future(starts_at)
        ends_at = starts_at + (showtime.ends_at - showtime.starts_at)
        clash = db.session.scalar(sa.select(Showtime.id).where(
            Showtime.screen_id == showtime.screen_id, Showtime.id != showtime.id,
            Showtime.status == ShowtimeStatus.SCHEDULED, Showtime.starts_at < ends_at,
            Showtime.ends_at > starts_at).limit(1))
        if clash is not None:
            raise ValidationError("The screen already has a showtime at that time.", code="showtime_clash",
                                  details={"showtime_id": clash})
        changes["starts_at"] = [showtime.starts_at, starts_at]
        showtime.starts_at, showtime.ends_at = starts_at, ends_at
    if prices:
        _check_prices(showtime.screen, prices)
        for section, price in prices.items():
            db.session.execute(sa.update(ShowtimeSeat).where(
                ShowtimeSeat.showtime_id == showtime.id, ShowtimeSeat.section == section,
                ShowtimeSeat.state == SeatState.AVAILABLE).values(price=price))
        changes["prices"] = prices
    if changes:
        db.session.flush()
        audit(actor, "showtime.update", "showtime", showtime.id, changes)
    return showtime


def cancel_showtime(actor: User, showtime_id: int) -> tuple[Showtime, dict[str, int]]:
    """Cancel a showtime: it leaves listings and stops selling; its bookings are cancelled and refunded
    in full and its unpaid orders expire, in the same transaction (refunds go out after the commit).

    Raises NotFound, Conflict `showtime_cancelled`.
    """
    showtime = _showtime_for_update(showtime_id)
    showtime.status = ShowtimeStatus.CANCELLED
    db.session.flush()
    outcome = bookings.cancel_showtime_sales(showtime.id)
    audit(actor, "showtime.cancel", "showtime", showtime.id, {"status": ["scheduled", "cancelled"], **outcome})
    return showtime, outcome
