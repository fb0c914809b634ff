"""The waiting list of a showtime: users who want seats when some become free again."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models._types import UTCDateTime, utcnow
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
