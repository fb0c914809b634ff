"""A showtime's on-sale settings: when its sale opens and whether buyers pass a waiting room first."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models._types import UTCDateTime, utcnow


class WaitingRoom(Model):
    """One row per showtime that staff set up (none: no room, the sale is open). The truth; Redis keeps a
    copy in the showtime's seat facts (app.services.seats.facts) and the queue itself."""

    __tablename__ = "waiting_rooms"
    __table_args__ = (
        sa.CheckConstraint("active_limit > 0", name="active_limit_positive"),
        sa.CheckConstraint("pass_ttl_s >= 60", name="pass_ttl_min"),
    )

    showtime_id: Mapped[int] = mapped_column(sa.ForeignKey("showtimes.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    active_limit: Mapped[int] = mapped_column(default=200)
    sales_open_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pass_ttl_s: Mapped[int] = mapped_column(default=600)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
