"""Orders: held seats -> a gateway order -> a captured payment -> a booking, or a refund.

The Redis hold is the fast path; the truth is the database: at confirmation the order row and the seat
rows are locked (seats in id order, with a short lock_timeout) and each seat moves from available to
booked only if it still is available. A paid order therefore ends as a booking or a refund, never as
two bookings of one seat. Functions here only flush; the caller commits through uow.transaction(),
and what must follow the commit (releasing holds, broadcasting, tickets, refunds) is registered with
uow.after_commit.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.errors import Conflict, NotFound, PaymentError, ValidationError
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
from app.services import order_states, promos, refunds, tasks, waitlist
from app.services.catalogue import sellable_showtime
from app.services.payment_gateways import get_gateway
from app.services.seats import expiry, holds, rules
from app.services.uow import after_commit, transaction
from app.services.waiting_room import room

log = logging.getLogger(__name__)

def _seats(showtime_id: int, labels: list[str], *, for_update: bool = False) -> list[ShowtimeSeat]:
    stmt = (sa.select(ShowtimeSeat)
            .where(ShowtimeSeat.showtime_id == showtime_id, ShowtimeSeat.label.in_(labels))
            .order_by(ShowtimeSeat.id))
    if for_update:
        stmt = stmt.with_for_update()
    seats = list(db.session.scalars(stmt))
    unknown = sorted(set(labels) - {s.label for s in seats})
    if unknown:
        raise ValidationError("These seats do not exist in this showtime.", code="unknown_seats",
                              details={"seat_ids": unknown})
    return seats


# ---- before payment -----------------------------------------------------------------------------

def validate_locks(user_id: int, showtime_id: int, seat_ids: list[str]) -> dict[str, Any]:
    """Whether user_id still holds every named seat, and until when."""
    labels = holds.normalize_labels(seat_ids)
    _seats(showtime_id, labels)
    found = {h.seat_id: h for h in holds.inspect(showtime_id, labels)}
    mine = [s for s in labels if found[s].holder_id == str(user_id)]
    missing = [s for s in labels if s not in mine]
    expiry = min((e for s in mine if (e := found[s].expires_at) is not None), default=None)
    return {"valid": not missing, "showtime_id": showtime_id, "seat_ids": mine, "missing": missing,
            "expires_at": expiry if not missing else None}


def create_order(user_id: int, showtime_id: int, seat_ids: list[str], promo_code: str | None = None,
                 queue_pass: str | None = None) -> Order:
    """Create an order for seats the caller holds; the amount comes from the seat prices, less the
    discount of promo_code (whose redemption counts from here, see app.services.promos).

    The holds are extended to cover the payment window; when a seat's deadline cuts that short, the order
    expires with its holds. An open order for the same seats (and the same
    code) is returned again instead of creating a second one; one with another code is expired, giving
    its redemption back. Raises NotFound, ValidationError (`promo_invalid`, `promo_expired`,
    `promo_min_amount`...), Conflict (`hold_expired`, `seat_taken`, `showtime_started`,
    `promo_exhausted`, `promo_already_used`...), Forbidden `queue_pass_required` / `sales_not_open` (the
    showtime's waiting room), PaymentError / ServiceUnavailable from the gateway, and 503 when Redis is down.
    """
    labels = sorted(holds.normalize_labels(seat_ids))
    sellable_showtime(showtime_id)
    room.require_pass(showtime_id, user_id, queue_pass)
    seats = _seats(showtime_id, labels)
    sold = [s.label for s in seats if not rules.seat_sellable(s.state)]
    if sold:
        raise Conflict("These seats are no longer available.", code="seat_taken", details={"seat_ids": sold})
    holds.assert_held(showtime_id, user_id, labels)

    existing = db.session.scalar(
        sa.select(Order).where(Order.user_id == user_id, Order.showtime_id == showtime_id,
                               Order.state == OrderState.CREATED, Order.expires_at > utcnow())
        .order_by(Order.id.desc()).limit(1)
    )
    window = int(current_app.config["ORDER_PAYMENT_WINDOW_S"])
    code = promos.normalize_code(promo_code) if promo_code else None
    if existing is not None and sorted(existing.seat_labels) == labels:
        if existing.promo_code == code:
            held = holds.extend(showtime_id, user_id, labels, ttl_ms=window * 1000)
            existing.expires_at = min(existing.expires_at, held.expires_at)  # never past its seats' holds
            return existing
        order_states.move(existing, OrderState.EXPIRED)  # replaced by an order with another code: frees its redemption
        db.session.flush()

    subtotal = sum(seat.price for seat in seats)  # computed here, never taken from the client
    quote = promos.apply(code, user_id, subtotal, lock=False) if code else None
    discount = quote.discount if quote else 0
    amount = subtotal - discount
    public_id = "ord_" + secrets.token_hex(10)
    gateway = get_gateway()
    notes = {"showtime_id": str(showtime_id), "seats": ",".join(labels)}
    if quote:
        notes["promo_code"] = quote.promo.code
    gateway_order_id = gateway.create_order(amount, "INR", receipt=public_id, notes=notes)
    # The redemption is taken under the promo row's lock only now, after the gateway's round trip, so a
    # slow gateway never queues the other buyers of a code; the lock lasts until the commit, which makes
    # the check and this order one step. A code used up or edited meanwhile refuses the order (its gateway
    # order is left unpaid, which costs nothing).
    applied = promos.apply(code, user_id, subtotal) if code else None
    if applied and applied.discount != discount:
        raise Conflict("The promo code changed while the order was being made; please try again.",
                       code="promo_changed", details={"promo_code": applied.promo.code})
    # the seats' deadline may cut the window short: the order then waits only as long as its holds last
    held = holds.extend(showtime_id, user_id, labels, ttl_ms=window * 1000)
    order = Order(public_id=public_id, user_id=user_id, showtime_id=showtime_id, seat_labels=labels,
                  amount=amount, discount=discount, promo_code=applied.promo.code if applied else None,
                  promo_id=applied.promo.id if applied else None, currency="INR", gateway=gateway.name,
                  gateway_order_id=gateway_order_id, state=OrderState.CREATED,
                  expires_at=min(utcnow() + timedelta(seconds=window), held.expires_at))
    db.session.add(order)
    db.session.flush()
    log.info("order %s created user=%s showtime=%s seats=%s subtotal=%s discount=%s promo=%s amount=%s",
             public_id, user_id, showtime_id, ",".join(labels), subtotal, discount, order.promo_code, amount)
    return order


# ---- payment ------------------------------------------------------------------------------------

@dataclass
class Confirmation:
    order: Order
    booking: Booking | None
    refund: Refund | None = None


def _order_for_update(gateway_order_id: str) -> tuple[Order, Showtime]:
    """The order and its showtime, locked in the one order every path takes: showtime (FOR SHARE), order,
    then seats. A staff cancellation holds the showtime FOR UPDATE, so a capture confirmed meanwhile waits
    for it and then sees the showtime cancelled, instead of booking seats of a cancelled show."""
    showtime_id = db.session.scalar(sa.select(Order.showtime_id).where(Order.gateway_order_id == gateway_order_id))
    if showtime_id is None:
        raise NotFound("No order matches this payment.", code="order_not_found")
    showtime = db.session.scalars(
        sa.select(Showtime).where(Showtime.id == showtime_id).with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one()
    order = db.session.scalars(
        sa.select(Order).where(Order.gateway_order_id == gateway_order_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return order, showtime


def own_order(user_id: int, gateway_order_id: str) -> Order:
    """The caller's order for a gateway order id. Raises NotFound (another user's order too: ids reveal
    nothing)."""
    order = db.session.scalar(sa.select(Order).where(Order.gateway_order_id == gateway_order_id))
    if order is None or order.user_id != user_id:
        raise NotFound("No order matches this payment.", code="order_not_found")
    return order


def booking_of(order: Order) -> Booking | None:
    return db.session.scalar(sa.select(Booking).where(Booking.order_id == order.id))


def _record_payment(order: Order, gateway_payment_id: str, amount: int) -> tuple[Payment, bool]:
    """The captured payment's row: (row, True) when this capture is news, (row, False) when recorded before."""
    payment = db.session.scalar(sa.select(Payment).where(Payment.gateway_payment_id == gateway_payment_id))
    if payment is not None:
        if payment.order_id != order.id:
            raise Conflict("This payment belongs to another order.", code="payment_order_mismatch")
        if payment.state != PaymentState.FAILED:
            return payment, False
        payment.state, payment.amount = PaymentState.CAPTURED, amount  # a failed attempt captured after all
        return payment, True
    payment = Payment(order_id=order.id, gateway=order.gateway, gateway_payment_id=gateway_payment_id,
                      amount=amount, currency=order.currency, state=PaymentState.CAPTURED)
    db.session.add(payment)
    db.session.flush()
    return payment, True


# An order in one of these states has had its money's fate decided: any other capture is refunded.
_SETTLED = (OrderState.BOOKED, OrderState.REFUND_PENDING, OrderState.REFUNDED, OrderState.REFUND_FAILED)


def new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "CV" + "".join(secrets.choice(alphabet) for _ in range(10))


def confirm_payment(gateway_order_id: str, gateway_payment_id: str, amount: int | None = None,
                    currency: str | None = None) -> Confirmation:
    """Turn a captured payment into a booking, exactly once; or start a refund when it cannot be one.

    Idempotent: repeating it (verify twice, webhook five times, both) returns the same booking. `amount`
    and `currency` are what the gateway says was captured; a mismatch is refunded, and so is any other
    capture of an order already booked or refunded. Raises NotFound for an unknown order, Conflict for
    a payment id that belongs to another order.
    """
    order, showtime = _order_for_update(gateway_order_id)
    payment, is_new = _record_payment(order, gateway_payment_id, amount if amount is not None else order.amount)
    if order.state in _SETTLED:
        # A second capture of a booked or refunded order (two tabs, a UPI retry) is money we must return.
        refund = refunds.start(order, payment, payment.amount, "duplicate_payment") if is_new else None
        return Confirmation(order, booking_of(order), refund)

    redemption_was_given_back = order.state not in promos.LIVE_STATES
    order_states.move(order, OrderState.PAID)
    if (amount is not None and amount != order.amount) or (currency is not None and currency != order.currency):
        order_states.move(order, OrderState.REFUND_PENDING)
        return Confirmation(order, None, refunds.start(order, payment, payment.amount, "amount_mismatch"))
    if redemption_was_given_back and not promos.still_redeemable(order):
        # a late capture of a failed/expired order whose code was used up meanwhile: never over the cap
        order_states.move(order, OrderState.REFUND_PENDING)
        return Confirmation(order, None, refunds.start(order, payment, payment.amount, "promo_unavailable"))

    seats = _seats(order.showtime_id, order.seat_labels, for_update=True)
    unavailable = [s.label for s in seats if not rules.seat_sellable(s.state)]
    if unavailable or showtime.status != rules.ON_SALE_STATUS:  # a capture after the start still books
        order_states.move(order, OrderState.REFUND_PENDING)
        log.warning("order %s paid but seats %s are gone: refunding", order.public_id, ",".join(unavailable))
        return Confirmation(order, None, refunds.start(order, payment, payment.amount, "seats_unavailable"))

    booking = Booking(reference=new_reference(), user_id=order.user_id, showtime_id=order.showtime_id,
                      order_id=order.id, seat_labels=list(order.seat_labels), amount=order.amount,
                      currency=order.currency, state=BookingState.CONFIRMED)
    db.session.add(booking)
    db.session.flush()
    updated: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        sa.update(ShowtimeSeat)
        .where(ShowtimeSeat.showtime_id == order.showtime_id,  # names the showtime for seatcache
               ShowtimeSeat.id.in_([s.id for s in seats]), rules.sellable_seat_clause())
        .values(state=SeatState.BOOKED, booking_id=booking.id)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount != len(seats):  # cannot happen under the row locks; refuse rather than oversell
        raise Conflict("Seats changed while booking.", code="seat_taken")
    order_states.move(order, OrderState.BOOKED)
    waitlist.booked(order.user_id, order.showtime_id)
    for seat in seats:
        db.session.refresh(seat)
    log.info("booking %s made order=%s showtime=%s seats=%s", booking.reference, order.public_id,
             order.showtime_id, ",".join(order.seat_labels))
    after_commit(_announce_booking(order.showtime_id, order.user_id, list(order.seat_labels), booking.id))
    showtime_id, buyer = order.showtime_id, order.user_id
    after_commit(lambda: room.bought(showtime_id, buyer))  # the buyer's place in a waiting room goes to the next
    return Confirmation(order, booking)


def _announce_booking(showtime_id: int, user_id: int, labels: list[str], booking_id: int):  # type: ignore[no-untyped-def]
    def run() -> None:
        try:
            released = holds.release(showtime_id, user_id, labels, event="seat_booked", check_seats=False)
            rest = [s for s in labels if s not in released]
            if rest:
                holds.publish(showtime_id, "seat_booked", rest)
        except holds.ANNOUNCE_ERRORS as exc:  # the booking stands; clients re-sync from the snapshot
            log.warning("booking %s: could not announce seats (%s)", booking_id, exc)
        tasks.enqueue(tasks.RENDER_TICKET, booking_id)

    return run


def verify_payment(user_id: int, gateway_order_id: str, gateway_payment_id: str, signature: str | None
                   ) -> Confirmation:
    """Check the checkout's signature (constant time), ask the gateway what was paid (capturing an
    authorised payment), then confirm it. The signature only says the browser saw a payment; on an
    account with manual capture that payment is merely authorised, and would be returned to the buyer.

    Raises InvalidSignature (400) for a missing or wrong signature, NotFound for an order that is
    not the caller's, PaymentError (402 `payment_not_captured`) for a payment the gateway has not taken.
    """
    gateway = get_gateway()
    gateway.verify_payment_signature(gateway_order_id, gateway_payment_id, signature)
    order = own_order(user_id, gateway_order_id)
    paid = gateway.fetch_payment(gateway_payment_id)  # outside every row lock: a slow gateway queues nobody
    if paid.order_id != gateway_order_id:
        raise Conflict("This payment belongs to another order.", code="payment_order_mismatch")
    if paid.status == "authorized" and paid.amount == order.amount and paid.currency == order.currency:
        paid = gateway.capture_payment(gateway_payment_id, paid.amount, paid.currency)
    if paid.status not in ("captured", "refunded"):
        raise PaymentError("The gateway has not captured this payment.", code="payment_not_captured",
                           details={"status": paid.status})
    return confirm_payment(gateway_order_id, gateway_payment_id, paid.amount, paid.currency)


def fail_payment(gateway_order_id: str, gateway_payment_id: str | None = None) -> Order | None:
    """Record a failed payment attempt. The order keeps waiting and its seats stay held: a capture can
    follow a failed attempt (UPI retries, a second card), and seats are freed when the order expires."""
    try:
        order, _ = _order_for_update(gateway_order_id)
    except NotFound:
        return None
    if gateway_payment_id and db.session.scalar(
            sa.select(Payment.id).where(Payment.gateway_payment_id == gateway_payment_id)) is None:
        db.session.add(Payment(order_id=order.id, gateway=order.gateway, gateway_payment_id=gateway_payment_id,
                               amount=order.amount, currency=order.currency, state=PaymentState.FAILED))
        db.session.flush()
    log.info("order %s: payment attempt %s failed (order %s)", order.public_id, gateway_payment_id,
             order.state.value)
    return order


def expire_stale_orders(limit: int = 200) -> int:
    """Expire waiting orders whose payment window has passed (their holds lapse with it)."""
    stale = list(db.session.scalars(
        sa.select(Order).where(Order.state == OrderState.CREATED, Order.expires_at < utcnow())
        .order_by(Order.id).limit(limit).with_for_update(skip_locked=True)
    ))
    for order in stale:
        order_states.move(order, OrderState.EXPIRED)
        waitlist.seats_freed(order.showtime_id)
    return len(stale)


def expire_orders_for_lapsed_holds(lapsed: expiry.Lapsed) -> int:
    """Expire the waiting orders whose seats' holds just lapsed."""
    count = 0
    for user_id, labels in lapsed.by_user.items():
        if not user_id.isdigit():
            continue
        orders = db.session.scalars(
            sa.select(Order).where(Order.user_id == int(user_id), Order.showtime_id == lapsed.showtime_id,
                                   Order.state == OrderState.CREATED).with_for_update(skip_locked=True)
        )
        for order in orders:
            if set(order.seat_labels) & set(labels):
                order_states.move(order, OrderState.EXPIRED)
                count += 1
    return count


@expiry.on_holds_lapsed
def expire_orders_on_lapse(lapsed: expiry.Lapsed) -> None:
    """When holds lapse, the orders waiting on those seats expire with them (its own unit of work)."""
    with transaction():
        count = expire_orders_for_lapsed_holds(lapsed)
    if count:
        log.info("expired %s orders of showtime %s whose holds lapsed", count, lapsed.showtime_id)
