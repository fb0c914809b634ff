"""Staff operations: the catalogue (movies, theatres, screens, showtimes), bookings, sales, users, roles.

Every write records an AuditLog row (who, what, which row, the changes) in the same transaction, so
a change and its audit entry commit or roll back together. Functions flush, never commit.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.models import (
    AuditLog,
    Booking,
    BookingState,
    Movie,
    Order,
    OrderState,
    Role,
    Screen,
    SeatState,
    Showtime,
    ShowtimeSeat,
    ShowtimeStatus,
    Theatre,
    User,
)
from app.services import catalogue
from app.services.layouts import validate_layout

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


def _apply(obj: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the given fields; returns {field: [old, new]} for those that changed."""
    changes: dict[str, list[Any]] = {}
    for field, new in data.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [old, new]
            setattr(obj, field, new)
    return changes


def _paged(stmt: sa.Select[Any], order_by: Any, page: int, per_page: int) -> tuple[list[Any], int]:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(stmt.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total


# ---------------------------------------------------------------- movies


def list_movies(page: int, per_page: int, q: str | None = None, include_inactive: bool = True,
                ) -> tuple[list[Movie], int]:
    stmt = sa.select(Movie)
    if q:
        stmt = stmt.where(sa.func.lower(Movie.title).like(catalogue._like(q.strip()), escape="\\"))
    if not include_inactive:
        stmt = stmt.where(Movie.is_active.is_(True))
    return _paged(stmt, (Movie.title, Movie.id), page, per_page)


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
    changes = _apply(movie, data)
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
    changes = _apply(theatre, data)
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
    changes = _apply(screen, data)
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
    from app.services import orders  # orders imports the gateways; keep this module light to import

    showtime = _showtime_for_update(showtime_id)
    showtime.status = ShowtimeStatus.CANCELLED
    db.session.flush()
    outcome = orders.cancel_showtime_sales(showtime.id)
    audit(actor, "showtime.cancel", "showtime", showtime.id, {"status": ["scheduled", "cancelled"], **outcome})
    return showtime, outcome


# ---------------------------------------------------------------- bookings and sales


def list_bookings(page: int, per_page: int, showtime_id: int | None = None, user_id: int | None = None,
                  state: str | None = None) -> tuple[list[Booking], int]:
    stmt = sa.select(Booking)
    if showtime_id is not None:
        stmt = stmt.where(Booking.showtime_id == showtime_id)
    if user_id is not None:
        stmt = stmt.where(Booking.user_id == user_id)
    if state:
        stmt = stmt.where(Booking.state == BookingState(state))
    return _paged(stmt, (Booking.created_at.desc(), Booking.id.desc()), page, per_page)


def sales(showtime_id: int) -> dict[str, Any]:
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


# ---------------------------------------------------------------- users and roles


def list_users(page: int, per_page: int, q: str | None = None, role: str | None = None) -> tuple[list[User], int]:
    stmt = sa.select(User)
    if q:
        like = catalogue._like(q.strip())
        stmt = stmt.where(sa.or_(sa.func.lower(User.email).like(like, escape="\\"),
                                 sa.func.lower(User.name).like(like, escape="\\")))
    if role:
        stmt = stmt.where(User.role == Role(role))
    return _paged(stmt, (User.id,), page, per_page)


def set_role(actor: User, user_id: int, role: str) -> User:
    """Promote a user to admin or demote an admin to user (superadmins only; effective at once).

    Raises NotFound `user_not_found`, Forbidden `superadmin_protected` (superadmins are managed with the
    `flask create-superadmin` command, never through the API).
    """
    target = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if target is None:
        raise NotFound(f"User {user_id} was not found.", code="user_not_found")
    if target.role is Role.SUPERADMIN:
        raise Forbidden("A superadmin's role cannot be changed through the API.", code="superadmin_protected")
    new = Role(role)
    if new is Role.SUPERADMIN:
        raise Forbidden("Superadmins are created with `flask create-superadmin`.", code="superadmin_protected")
    if target.role is not new:
        old = target.role
        target.role = new
        db.session.flush()
        audit(actor, "user.promote" if new is Role.ADMIN else "user.demote", "user", target.id,
              {"role": [old.value, new.value]})
    return target


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Suspend or restore an account (effective at once: a suspended user's tokens get 401 everywhere,
    and login and refresh refuse it). Admins manage plain users; superadmins also manage admins.

    Raises NotFound `user_not_found`, Forbidden `superadmin_only` (an admin's account, for an admin),
    `superadmin_protected` (a superadmin's account), `self_protected` (one's own account).
    """
    from app.services import auth

    target = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if target is None:
        raise NotFound(f"User {user_id} was not found.", code="user_not_found")
    if target.id == actor.id:
        raise Forbidden("You cannot suspend or restore your own account.", code="self_protected")
    if target.role is Role.SUPERADMIN:
        raise Forbidden("A superadmin's account cannot be changed through the API.", code="superadmin_protected")
    if target.role is Role.ADMIN and actor.role is not Role.SUPERADMIN:
        raise Forbidden("Only a superadmin can suspend or restore an admin.", code="superadmin_only")
    if target.is_active is not active:
        target.is_active = active
        db.session.flush()
        if active:
            auth.restore_user(target)
        else:
            auth.suspend_user(target)
        audit(actor, "user.restore" if active else "user.suspend", "user", target.id,
              {"is_active": [not active, active]})
        log.info("user %s %s by %s", target.id, "restored" if active else "suspended", actor.id)
    return target


def list_audit(page: int, per_page: int, entity: str | None = None, actor_id: int | None = None,
               ) -> tuple[list[AuditLog], int]:
    stmt = sa.select(AuditLog)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if actor_id is not None:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    return _paged(stmt, (AuditLog.created_at.desc(), AuditLog.id.desc()), page, per_page)
