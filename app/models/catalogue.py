"""Catalogue: movies, theatres, screens (with seat layouts) and showtimes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models._types import UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from app.models.waiting_room import WaitingRoom


class Movie(Model):
    __tablename__ = "movies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    genre: Mapped[str] = mapped_column(sa.String(40), index=True)
    language: Mapped[str] = mapped_column(sa.String(40), index=True)
    duration_min: Mapped[int] = mapped_column()
    certificate: Mapped[str] = mapped_column(sa.String(8), default="UA")
    release_date: Mapped[date | None] = mapped_column(sa.Date)
    poster_url: Mapped[str | None] = mapped_column(sa.String(500))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    showtimes: Mapped[list[Showtime]] = relationship(back_populates="movie")


class Theatre(Model):
    __tablename__ = "theatres"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    city: Mapped[str] = mapped_column(sa.String(80), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # whether a lock may leave a single empty seat between taken ones (app.services.seats.adjacency)
    allow_single_seat_gaps: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    screens: Mapped[list[Screen]] = relationship(back_populates="theatre", order_by="Screen.id")


class Screen(Model):
    """A screen and its seat layout, kept as data (see app.services.layouts)."""

    __tablename__ = "screens"
    __table_args__ = (sa.UniqueConstraint("theatre_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    theatre_id: Mapped[int] = mapped_column(sa.ForeignKey("theatres.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    layout: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    theatre: Mapped[Theatre] = relationship(back_populates="screens")


class ShowtimeStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Showtime(Model):
    __tablename__ = "showtimes"
    __table_args__ = (sa.Index("ix_showtimes_screen_starts", "screen_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    movie_id: Mapped[int] = mapped_column(sa.ForeignKey("movies.id", ondelete="CASCADE"), index=True)
    screen_id: Mapped[int] = mapped_column(sa.ForeignKey("screens.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[ShowtimeStatus] = mapped_column(
        enum_column(ShowtimeStatus, "showtime_status"), default=ShowtimeStatus.SCHEDULED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    movie: Mapped[Movie] = relationship(back_populates="showtimes")
    screen: Mapped[Screen] = relationship()
    # its on-sale settings (app.models.waiting_room), None when staff never set them
    waiting_room: Mapped[WaitingRoom | None] = relationship(viewonly=True, lazy="select")
