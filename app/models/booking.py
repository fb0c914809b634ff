"""Orders (a purchase in progress) and bookings (seats sold to a user)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models._types import UTCDateTime, enum_column, utcnow


class OrderState(str, enum.Enum):
    CREATED = "created"      # waiting for the payment
    PAID = "paid"            # payment captured, booking being made
    BOOKED = "booked"        # booking made
    FAILED = "failed"        # payment failed
    EXPIRED = "expired"      # holds lapsed before payment
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"  # the gateway refused the refund: staff must act (admin refunds)


class Order(Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("discount >= 0", name="discount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    showtime_id: Mapped[int] = mapped_column(sa.ForeignKey("showtimes.id", ondelete="RESTRICT"), index=True)
    seat_labels: Mapped[list[str]] = mapped_column(sa.JSON)
    amount: Mapped[int] = mapped_column()  # paise, computed on the server: subtotal - discount
    discount: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))  # paise, from the promo code
    currency: Mapped[str] = mapped_column(sa.String(3), default="INR")
    gateway: Mapped[str] = mapped_column(sa.String(16))
    gateway_order_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    promo_code: Mapped[str | None] = mapped_column(sa.String(32))
    promo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("promo_codes.id", ondelete="RESTRICT"), index=True)
    state: Mapped[OrderState] = mapped_column(enum_column(OrderState, "order_state"), default=OrderState.CREATED)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def subtotal(self) -> int:
        """The seat prices before the discount (paise)."""
        return self.amount + self.discount


class BookingState(str, enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Booking(Model):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    showtime_id: Mapped[int] = mapped_column(sa.ForeignKey("showtimes.id", ondelete="RESTRICT"), index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="RESTRICT"), unique=True)
    seat_labels: Mapped[list[str]] = mapped_column(sa.JSON)
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3), default="INR")
    state: Mapped[BookingState] = mapped_column(
        enum_column(BookingState, "booking_state"), default=BookingState.CONFIRMED
    )
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket_path: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)  # sales reports
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # each mail once (app.services.booking_mail claims the mark before sending)
    confirmation_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()

    @property
    def details(self) -> dict[str, Any]:
        return {"reference": self.reference, "seats": self.seat_labels}
