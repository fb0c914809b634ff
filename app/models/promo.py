"""Promo codes: a discount a customer names when creating an order.

A code is stored upper-cased, so the unique constraint makes it unique case-insensitively. Its
redemptions are the orders that name it (Order.promo_id) and are still live (see
app.services.promos.LIVE_STATES); counting them under a row lock on the promo row is what keeps
the total cap and once-per-user exact under concurrent orders.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models._types import UTCDateTime, enum_column, utcnow


class PromoKind(str, enum.Enum):
    PERCENT = "percent"  # value is a percentage, 1..100
    FLAT = "flat"        # value is an amount in paise


class PromoCode(Model):
    __tablename__ = "promo_codes"
    __table_args__ = (
        sa.CheckConstraint("value > 0", name="value_positive"),
        sa.CheckConstraint("kind <> 'percent' OR value <= 100", name="percent_at_most_100"),
        sa.CheckConstraint("max_discount IS NULL OR max_discount > 0", name="max_discount_positive"),
        sa.CheckConstraint("min_order_amount >= 0", name="min_order_not_negative"),
        sa.CheckConstraint("max_redemptions IS NULL OR max_redemptions > 0", name="max_redemptions_positive"),
        sa.CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from",
                           name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)  # upper-cased on the way in
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[PromoKind] = mapped_column(enum_column(PromoKind, "promo_kind"))
    value: Mapped[int] = mapped_column()
    max_discount: Mapped[int | None] = mapped_column()  # paise; caps a percent discount
    min_order_amount: Mapped[int] = mapped_column(default=0)  # paise, before the discount
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_redemptions: Mapped[int | None] = mapped_column()  # in total; None = unlimited
    once_per_user: Mapped[bool] = mapped_column(default=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
