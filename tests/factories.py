"""Small factory functions for test data; each commits so other threads and processes see it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

from flask_jwt_extended import create_access_token

from app.extensions import db
from app.models import Movie, Role, Screen, Showtime, Theatre, User
from app.services.catalogue import schedule_showtime
from app.services.layouts import default_layout
from app.services.passwords import hash_password

_seq = count(1)


def make_movie(**fields: Any) -> Movie:
    n = next(_seq)
    values: dict[str, Any] = {"title": f"Movie {n}", "genre": "Drama", "language": "Hindi", "duration_min": 120}
    values.update(fields)
    movie = Movie(**values)
    db.session.add(movie)
    db.session.commit()
    return movie


def make_screen(city: str = "Bengaluru", theatre_name: str | None = None, layout: dict[str, Any] | None = None,
                single_seat_gaps: bool = True, companions: bool = False) -> Screen:
    """A theatre with one screen. Unless asked otherwise its theatre allows single-seat gaps and the default
    layout has no companion seats, so that the tests of holding, paying and refunding choose their seats
    freely; the seat rules' own tests (tests/api/test_seat_rules.py) ask for the product's defaults."""
    theatre = Theatre(name=theatre_name or f"Theatre {next(_seq)}", city=city, address="1 Main Road",
                      allow_single_seat_gaps=single_seat_gaps)
    if layout is None:
        layout = default_layout()
        if not companions:
            layout["companion"] = []
    screen = Screen(theatre=theatre, name="Screen 1", layout=layout)
    db.session.add_all([theatre, screen])
    db.session.commit()
    return screen


def make_showtime(movie: Movie | None = None, screen: Screen | None = None, starts_at: datetime | None = None,
                  **screen_fields: Any) -> Showtime:
    movie = movie or make_movie()
    screen = screen or make_screen(**screen_fields)
    starts_at = starts_at or datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    showtime = schedule_showtime(movie, screen, starts_at)
    db.session.commit()
    return showtime


def make_user(role: Role = Role.USER, email: str | None = None, name: str = "Test User",
              password: str = "correct horse battery") -> User:
    user = User(email=email or f"user{next(_seq)}@example.com", name=name, role=role,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    return user


def auth_headers(user: User) -> dict[str, str]:
    """A Bearer header for user; the JWT identity is str(user.id) (the contract every route relies on)."""
    token = create_access_token(identity=str(user.id))
    return {"Authorization": f"Bearer {token}"}
