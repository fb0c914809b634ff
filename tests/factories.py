"""Small factory functions for test data; each commits so other threads and processes see it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

from app.extensions import db
from app.models import Movie, Screen, Showtime, Theatre
from app.services.catalogue import schedule_showtime
from app.services.layouts import default_layout

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
                ) -> Screen:
    theatre = Theatre(name=theatre_name or f"Theatre {next(_seq)}", city=city, address="1 Main Road")
    screen = Screen(theatre=theatre, name="Screen 1", layout=layout or default_layout())
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
