"""After the sale: a booking's cancellation and its refund policy, a showtime's sales cancelled, check-in,
and the bookings a buyer or staff may see. Functions flush, never commit (app/services/uow.py)."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import (
    Booking,
    BookingState,
    Order,
    OrderState,
    Payment,
    PaymentState,
    Refund,
    SeatState,
    Showtime,
    ShowtimeSeat,
)
from app.models._types import utcnow
from app.services import order_states, paging, refunds, waitlist
from app.services.seats import holds
from app.services.uow import after_commit

log = logging.getLogger(__name__)

def refund_percent(starts_at: datetime, now: datetime | None = None) -> int | None:
    """The refund share for cancelling now under CANCELLATION_POLICY; None when cancelling is closed."""
    hours_left = (starts_at - (now or utcnow())).total_seconds() / 3600
    for hours, percent in current_app.config["CANCELLATION_POLICY"]:
        if hours_left >= hours:
            return percent
    return None


def cancel_booking(user_id: int, booking_id: int, *, staff: bool = False) -> tuple[Booking, Refund | None]:
    """Cancel a booking before the show, free its seats and refund per the policy (staff: in full).

    Raises NotFound (not the caller's: the same as unknown), Conflict `cancellation_closed`,
    `booking_cancelled` or `already_checked_in`.
    """
    booking = db.session.scalar(sa.select(Booking).where(Booking.id == booking_id).with_for_update())
    if booking is None or (booking.user_id != user_id and not staff):
        raise NotFound(f"Booking {booking_id} was not found.", code="booking_not_found")
    if booking.state == BookingState.CANCELLED:
        raise Conflict("This booking is already cancelled.", code="booking_cancelled")
    showtime = db.session.get(Showtime, booking.showtime_id)
    assert showtime is not None
    percent = 100 if staff else refund_percent(showtime.starts_at)
    if percent is None:
        raise Conflict("Bookings can no longer be cancelled for this show.", code="cancellation_closed")
    if booking.checked_in_at is not None:
        raise Conflict("A checked-in booking cannot be cancelled.", code="already_checked_in")
    refund = _cancel_and_refund(booking, percent, "cancelled_by_staff" if staff else "cancelled")
    return booking, refund


def _cancel_and_refund(booking: Booking, percent: int, reason: str) -> Refund | None:
    """Cancel a locked booking, free its seats and start a refund of percent of its amount."""
    booking.state = BookingState.CANCELLED
    booking.cancelled_at = utcnow()
    db.session.execute(
        sa.update(ShowtimeSeat).where(ShowtimeSeat.booking_id == booking.id)
        .values(state=SeatState.AVAILABLE, booking_id=None).execution_options(synchronize_session=False)
    )
    order = db.session.get(Order, booking.order_id)
    payment = db.session.scalar(sa.select(Payment).where(Payment.order_id == booking.order_id,
                                                         Payment.state == PaymentState.CAPTURED)
                                .order_by(Payment.id).limit(1))
    refund = None
    amount = booking.amount * percent // 100
    if payment is not None and amount > 0 and order is not None:
        order_states.move(order, OrderState.REFUND_PENDING)
        refund = refunds.start(order, payment, amount, reason)
    showtime_id, labels = booking.showtime_id, list(booking.seat_labels)
    after_commit(lambda: holds.publish_quietly(showtime_id, "seat_released", labels))
    waitlist.seats_freed(showtime_id)
    log.info("booking %s cancelled refund=%s%% reason=%s", booking.reference, percent, reason)
    return refund


def cancel_showtime_sales(showtime_id: int) -> dict[str, int]:
    """For a showtime being cancelled: cancel every booking with a full refund (checked in or not)
    and expire the orders still waiting for payment. Payments captured later are refunded by
    confirm_payment, which refuses to book a cancelled showtime."""
    bookings = list(db.session.scalars(
        sa.select(Booking).where(Booking.showtime_id == showtime_id, Booking.state == BookingState.CONFIRMED)
        .order_by(Booking.id).with_for_update()
    ))
    refunds = sum(1 for booking in bookings if _cancel_and_refund(booking, 100, "showtime_cancelled"))
    waiting = list(db.session.scalars(
        sa.select(Order).where(Order.showtime_id == showtime_id,
                               Order.state.in_([OrderState.CREATED, OrderState.FAILED]))
        .order_by(Order.id).with_for_update()
    ))
    for order in waiting:
        order_states.move(order, OrderState.EXPIRED)
    return {"bookings_cancelled": len(bookings), "refunds": refunds, "orders_expired": len(waiting)}


def user_bookings(user_id: int, page: int, per_page: int) -> tuple[list[Booking], int]:
    return paging.paged(sa.select(Booking).where(Booking.user_id == user_id), (Booking.id.desc(),), page, per_page)


def get_booking_for(user_id: int, booking_id: int, *, staff: bool = False) -> Booking:
    """The booking if the caller owns it or is staff; NotFound otherwise (ids reveal nothing)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or (booking.user_id != user_id and not staff):
        raise NotFound(f"Booking {booking_id} was not found.", code="booking_not_found")
    return booking


def check_in(reference: str) -> Booking:
    """Admit a booking once. Raises NotFound, Conflict `already_checked_in` / `booking_cancelled`."""
    booking = db.session.scalar(sa.select(Booking).where(Booking.reference == reference).with_for_update())
    if booking is None:
        raise NotFound("No booking has this reference.", code="booking_not_found")
    if booking.state == BookingState.CANCELLED:
        raise Conflict("This booking was cancelled.", code="booking_cancelled")
    if booking.checked_in_at is not None:
        raise Conflict("This ticket was already used.", code="already_checked_in",
                       details={"checked_in_at": booking.checked_in_at.isoformat()})
    booking.checked_in_at = utcnow()
    return booking


def list_bookings(page: int, per_page: int, showtime_id: int | None = None, user_id: int | None = None,
                  state: str | None = None) -> tuple[list[Booking], int]:
    """Bookings, newest first, by showtime, user or state (for staff)."""
    stmt = sa.select(Booking)
    if showtime_id is not None:
        stmt = stmt.where(Booking.showtime_id == showtime_id)
    if user_id is not None:
        stmt = stmt.where(Booking.user_id == user_id)
    if state:
        stmt = stmt.where(Booking.state == BookingState(state))
    return paging.paged(stmt, (Booking.created_at.desc(), Booking.id.desc()), page, per_page)
