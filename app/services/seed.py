"""Demo data: a dozen movies, theatres in three cities, showtimes over the next days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Movie, Screen, Theatre
from app.services.catalogue import schedule_showtime
from app.services.layouts import default_layout

MOVIES = [
    ("Monsoon Over Mumbai", "Drama", "Hindi", 142, "UA", "A family reunites in the rains."),
    ("The Last Orbit", "Sci-Fi", "English", 128, "UA", "A stranded crew races a dying station home."),
    ("Kaveri Nights", "Romance", "Kannada", 131, "U", "Two musicians, one river, one summer."),
    ("Chennai Express Lane", "Comedy", "Tamil", 118, "U", "A taxi driver's very long day."),
    ("Shadows of Hampi", "Thriller", "Kannada", 136, "A", "A heist among the ruins."),
    ("Cricket Fever", "Sports", "Hindi", 149, "U", "A village team reaches the final."),
    ("Neon Ganges", "Action", "Hindi", 155, "UA", "A cop, a courier and a city that never sleeps."),
    ("Paper Lanterns", "Animation", "English", 97, "U", "A lantern maker's apprentice learns to fly."),
    ("The Spice Route", "Adventure", "English", 133, "UA", "Merchants, pirates and pepper."),
    ("Hyderabad Blues Again", "Comedy", "Telugu", 121, "UA", "An NRI comes home to a wedding."),
    ("Silent Valley", "Documentary", "Malayalam", 92, "U", "A year in the rainforest."),
    ("Midnight Metro", "Horror", "Tamil", 112, "A", "The last train has one passenger too many."),
]

THEATRES = [
    ("PVR Forum", "Bengaluru", "Forum Mall, Koramangala"),
    ("INOX Garuda", "Bengaluru", "Garuda Mall, Magrath Road"),
    ("Regal Cinema", "Mumbai", "Colaba Causeway"),
    ("Cinepolis Andheri", "Mumbai", "Fun Republic, Andheri West"),
    ("PVR Select City", "Delhi", "Select Citywalk, Saket"),
]

SHOW_TIMES = [time(10, 0), time(14, 0), time(18, 30), time(22, 0)]


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Movie)) == 0


def seed_demo(days: int = 3, start: date | None = None) -> dict[str, int]:
    """Insert the demo catalogue (flushes, never commits); returns what was created."""
    tz = ZoneInfo(current_app.config["APP_TIMEZONE"])
    today = start or datetime.now(tz).date()
    movies = []
    for index, (title, genre, language, minutes, cert, blurb) in enumerate(MOVIES):
        movie = Movie(title=title, genre=genre, language=language, duration_min=minutes, certificate=cert,
                      description=blurb, release_date=today - timedelta(days=7 * (index % 5)))
        movies.append(movie)
    db.session.add_all(movies)
    screens = []
    for t_index, (name, city, address) in enumerate(THEATRES):
        theatre = Theatre(name=name, city=city, address=address)
        db.session.add(theatre)
        for s_index in range(2):
            premium = 35_000 + 5_000 * (t_index % 2)
            screen = Screen(theatre=theatre, name=f"Screen {s_index + 1}",
                            layout=default_layout(regular_price=20_000 + 2_500 * s_index, premium_price=premium))
            db.session.add(screen)
            screens.append(screen)
    db.session.flush()
    showtimes = 0
    for day_offset in range(days):
        day = today + timedelta(days=day_offset)
        for s_index, screen in enumerate(screens):
            for slot_index, slot in enumerate(SHOW_TIMES):
                movie = movies[(s_index * 3 + slot_index + day_offset) % len(movies)]
                schedule_showtime(movie, screen, datetime.combine(day, slot, tzinfo=tz))
                showtimes += 1
    return {"movies": len(movies), "theatres": len(THEATRES), "screens": len(screens), "showtimes": showtimes}
