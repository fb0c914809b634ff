"""The per-showtime seat inventory: one row per seat per showtime."""

from __future__ import annotations

import enum
import re

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models._types import enum_column

# A seat's label: its row letter and its number in the row ("A1" .. "L18" on the default layout; rows up to
# Z, seats up to 99). The one definition: layouts, request schemas and the hold path all use it. \Z, not
# "$", which would also take "A1\n".
SEAT_LABEL = re.compile(r"\A([A-Z])([1-9][0-9]?)\Z")


class SeatState(str, enum.Enum):
    AVAILABLE = "available"
    BOOKED = "booked"
    BLOCKED = "blocked"  # taken out of sale by staff (broken seat, house seat)


class ShowtimeSeat(Model):
    """A seat of one showtime. The unique (showtime, label) row plus the conditional update of
    `state` from available to booked is the database's guarantee that a seat is sold once."""

    __tablename__ = "showtime_seats"
    __table_args__ = (
        sa.UniqueConstraint("showtime_id", "label"),
        sa.CheckConstraint("(state = 'booked') = (booking_id IS NOT NULL)", name="booked_has_booking"),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    showtime_id: Mapped[int] = mapped_column(sa.ForeignKey("showtimes.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(sa.String(8))
    row: Mapped[str] = mapped_column(sa.String(4))
    number: Mapped[int] = mapped_column()
    section: Mapped[str] = mapped_column(sa.String(32))
    price: Mapped[int] = mapped_column()  # paise
    accessible: Mapped[bool] = mapped_column(default=False)
    companion: Mapped[bool] = mapped_column(default=False)
    state: Mapped[SeatState] = mapped_column(enum_column(SeatState, "seat_state"), default=SeatState.AVAILABLE)
    booking_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bookings.id", ondelete="SET NULL"), index=True
    )
