"""Catalogue queries and showtime scheduling."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Movie, Screen, SeatState, Showtime, ShowtimeSeat, ShowtimeStatus, Theatre
from app.services import paging
from app.services.layouts import seats_of
from app.services.seats import rules


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC bounds of a calendar day in the app's time zone."""
    tz = ZoneInfo(current_app.config["APP_TIMEZONE"])
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)


def _showtime_filter(city: str | None, day: date | None) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = [Showtime.status == ShowtimeStatus.SCHEDULED]
    if city:
        clauses.append(
            Showtime.screen_id.in_(
                sa.select(Screen.id).join(Theatre).where(sa.func.lower(Theatre.city) == city.strip().lower())
            )
        )
    if day:
        start, end = local_day_bounds(day)
        clauses.append(Showtime.starts_at >= start)
        clauses.append(Showtime.starts_at < end)
    return clauses


def list_movies(*, page: int, per_page: int, q: str | None = None, genre: str | None = None,
                language: str | None = None, city: str | None = None, date: date | None = None,
                ) -> tuple[list[Movie], int]:
    """Active movies matching the filters (all case-insensitive), ordered by title."""
    stmt = sa.select(Movie).where(Movie.is_active.is_(True))
    if q:
        stmt = stmt.where(sa.func.lower(Movie.title).like(_like(q.strip()), escape="\\"))
    if genre:
        stmt = stmt.where(sa.func.lower(Movie.genre) == genre.strip().lower())
    if language:
        stmt = stmt.where(sa.func.lower(Movie.language) == language.strip().lower())
    if city or date:
        stmt = stmt.where(
            sa.exists().where(Showtime.movie_id == Movie.id, *_showtime_filter(city, date))
        )
    return paging.paged(stmt, (Movie.title, Movie.id), page, per_page)


def get_movie(movie_id: int) -> Movie:
    """Raises NotFound for an unknown or inactive movie."""
    movie = db.session.get(Movie, movie_id)
    if movie is None or not movie.is_active:
        raise NotFound(f"Movie {movie_id} was not found.", code="movie_not_found")
    return movie


def list_movie_showtimes(movie_id: int, *, page: int = 1, per_page: int = 100, city: str | None = None,
                         day: date | None = None, upcoming_only: bool = True) -> tuple[list[Showtime], int]:
    """Scheduled showtimes of a movie, soonest first. Raises NotFound for an unknown movie."""
    get_movie(movie_id)
    clauses = _showtime_filter(city, day)
    if upcoming_only:
        clauses.append(Showtime.starts_at > datetime.now(timezone.utc))
    stmt = (sa.select(Showtime).where(Showtime.movie_id == movie_id, *clauses)
            .options(joinedload(Showtime.screen).joinedload(Screen.theatre), joinedload(Showtime.movie)))
    return paging.paged(stmt, (Showtime.starts_at, Showtime.id), page, per_page, unique=True)


def list_theatres(*, page: int, per_page: int, city: str | None = None) -> tuple[list[Theatre], int]:
    stmt = sa.select(Theatre)
    if city:
        stmt = stmt.where(sa.func.lower(Theatre.city) == city.strip().lower())
    return paging.paged(stmt.options(joinedload(Theatre.screens)), (Theatre.city, Theatre.name, Theatre.id),
                        page, per_page, unique=True)


def get_showtime(showtime_id: int) -> Showtime:
    """Raises NotFound for an unknown showtime."""
    showtime = db.session.scalar(
        sa.select(Showtime).where(Showtime.id == showtime_id)
        .options(joinedload(Showtime.screen).joinedload(Screen.theatre), joinedload(Showtime.movie))
    )
    if showtime is None:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    return showtime


def schedule_showtime(movie: Movie, screen: Screen, starts_at: datetime,
                      prices: dict[str, int] | None = None) -> Showtime:
    """Create a showtime and its seat inventory from the screen's layout (flushes, never commits).

    `prices` overrides section prices by section name. Raises ValidationError for a naive time
    or a clash with another showtime on the same screen.
    """
    if starts_at.tzinfo is None:
        raise ValidationError("starts_at needs a time zone.", details={"fields": {"starts_at": "naive"}})
    ends_at = starts_at + timedelta(minutes=movie.duration_min + 20)  # trailers and cleaning
    clash = db.session.scalar(
        sa.select(Showtime.id).where(
            Showtime.screen_id == screen.id, Showtime.status == ShowtimeStatus.SCHEDULED,
            Showtime.starts_at < ends_at, Showtime.ends_at > starts_at,
        ).limit(1)
    )
    if clash is not None:
        raise ValidationError("The screen already has a showtime at that time.", code="showtime_clash",
                              details={"showtime_id": clash})
    showtime = Showtime(movie=movie, screen=screen, starts_at=starts_at, ends_at=ends_at)
    db.session.add(showtime)
    db.session.flush()
    prices = prices or {}
    db.session.execute(
        sa.insert(ShowtimeSeat),
        [
            {
                "showtime_id": showtime.id, "label": seat["label"], "row": seat["row"],
                "number": seat["number"], "section": seat["section"],
                "price": prices.get(seat["section"], seat["price"]),
                "accessible": seat["accessible"], "companion": seat["companion"],
                "state": SeatState.AVAILABLE,
            }
            for seat in seats_of(screen.layout)
        ],
    )
    return showtime


def showtime_seats(showtime_id: int) -> list[ShowtimeSeat]:
    return list(db.session.scalars(
        sa.select(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime_id)
        .order_by(ShowtimeSeat.row, ShowtimeSeat.number)
    ))


def sellable_showtime(showtime_id: int) -> Showtime:
    """The showtime, if seats of it can still be sold. Raises NotFound `showtime_not_found`, Conflict
    `showtime_cancelled` or `showtime_started`."""
    showtime = db.session.get(Showtime, showtime_id)
    if showtime is None:
        raise NotFound(f"Showtime {showtime_id} was not found.", code="showtime_not_found")
    refusal = rules.off_sale(showtime.id, showtime.status, showtime.starts_at)
    if refusal is not None:
        raise refusal
    return showtime
