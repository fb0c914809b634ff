"""Payments captured by a gateway, refunds, and the webhook events received."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models._types import UTCDateTime, enum_column, utcnow


class PaymentState(str, enum.Enum):
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"


class Payment(Model):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    gateway: Mapped[str] = mapped_column(sa.String(16))
    gateway_payment_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(sa.String(3), default="INR")
    state: Mapped[PaymentState] = mapped_column(enum_column(PaymentState, "payment_state"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RefundState(str, enum.Enum):
    PENDING = "pending"      # to be asked of the gateway (again, with the same key, until it answers)
    PROCESSED = "processed"  # the gateway made it (gateway_refund_id)
    FAILED = "failed"        # the gateway refused it and holds no refund for its key: staff decide


class Refund(Model):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    gateway_refund_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    amount: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[RefundState] = mapped_column(enum_column(RefundState, "refund_state"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # How often the gateway was asked, when last, and what it last said (for staff and for the sweep).
    attempts: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    notice_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the buyer's refund notice, once

    @property
    def key(self) -> str:
        """The idempotency key sent with every request for this refund: a retry never refunds twice."""
        return f"cineverse-refund-{self.id}"


class WebhookEvent(Model):
    """A gateway webhook, stored once per event id before it is processed by a worker."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(sa.String(64))
