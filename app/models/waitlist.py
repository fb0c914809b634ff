"""The waiting list of a showtime: users who want seats when some become free again."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models._types import UTCDateTime, enum_column, utcnow
from app.models.catalogue import Showtime


class WaitlistEntry(Model):
    """One user's place on one showtime's list (unique per user and showtime; joining again updates it)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        sa.UniqueConstraint("showtime_id", "user_id"),
        sa.CheckConstraint("seats > 0", name="seats_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    showtime_id: Mapped[int] = mapped_column(sa.ForeignKey("showtimes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seats: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # the place in the queue
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    showtime: Mapped[Showtime] = relationship()


class OfferState(str, enum.Enum):
    ACTIVE = "active"  # the seats are held for the user until expires_at
    BOOKED = "booked"  # the user bought the showtime
    LAPSED = "lapsed"  # not bought in time (or the hold given up): the seats went to the next in line
    WITHDRAWN = "withdrawn"  # the user left the waiting list


class WaitlistOffer(Model):
    """Seats held for the first waiting user whose count fit when they came free (app.services.offers).
    At most one active offer per user and showtime; a seat is in one active offer at most, since the offer
    is a hold in the lock store and a seat has one holder."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        sa.Index("uq_waitlist_offers_active", "showtime_id", "user_id", unique=True,
                 postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    showtime_id: Mapped[int] = mapped_column(sa.ForeignKey("showtimes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seat_labels: Mapped[list[str]] = mapped_column(sa.JSON)
    state: Mapped[OfferState] = mapped_column(enum_column(OfferState, "offer_state"), default=OfferState.ACTIVE)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
