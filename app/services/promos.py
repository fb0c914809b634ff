"""Promo codes: the discount an order gets, and redemptions that cannot exceed their limits.

When a redemption counts: it is taken when the order is created (the customer is shown and charged the
discounted amount from then on), and it stays taken while the order can still become, or has become, a
sale: states created, paid and booked, and any order that made a booking (a booking cancelled later
keeps its redemption used, so book-with-code / cancel / book-again cannot reuse a once-per-user code).
An order that fails, expires or is refunded without ever making a booking gives its redemption back.

Why it cannot be exceeded: every redemption of a code is decided under a row lock on the code's row
(SELECT ... FOR UPDATE, short lock_timeout), and the live redemptions are counted inside that lock from
the orders themselves, so two concurrent orders for the last use serialize and the second sees the
first. Counting only paid orders would let any number of open orders race past the cap at payment
time, with money already taken. A capture that arrives for a failed or expired order (whose
redemption was given back) re-checks the code under the same lock and is refunded if the code has
been used up meanwhile (app.services.orders.confirm_payment).

Functions here only flush; the caller commits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import Booking, Order, OrderState, PromoCode, PromoKind, User
from app.services import paging
from app.services.audit import apply_changes, audit

log = logging.getLogger(__name__)

# An order keeps its redemption in these states (or when it made a booking, whatever its state now).
LIVE_STATES = (OrderState.CREATED, OrderState.PAID, OrderState.BOOKED)
# Razorpay refuses orders under 100 paise (1 rupee): a discount never takes an order below it, so a
# 100% code sells the seats for 1 rupee instead of breaking the checkout with a zero-amount order.
MIN_CHARGE = 100
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")


def normalize_code(code: str) -> str:
    """The stored form of a code: trimmed and upper-cased (codes are case-insensitive)."""
    return code.strip().upper()


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- discount math


def discount_for(promo: PromoCode, subtotal: int) -> int:
    """The discount (paise) promo gives on subtotal: percent rounded down and capped by max_discount,
    or the flat amount; never more than subtotal - MIN_CHARGE, never negative."""
    if promo.kind is PromoKind.PERCENT:
        discount = subtotal * promo.value // 100
        if promo.max_discount is not None:
            discount = min(discount, promo.max_discount)
    else:
        discount = promo.value
    return max(0, min(discount, subtotal - MIN_CHARGE))


@dataclass
class Applied:
    promo: PromoCode
    subtotal: int
    discount: int

    @property
    def amount(self) -> int:
        return self.subtotal - self.discount


def _find(code: str, *, lock: bool) -> PromoCode | None:
    stmt = sa.select(PromoCode).where(PromoCode.code == normalize_code(code))
    if lock:
        # populate_existing: the row may be in the session already from an unlocked look (apply(lock=False))
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(stmt)


def _live(promo_id: int) -> sa.Select[Any]:
    """Orders holding a redemption of the promo."""
    made_booking = sa.exists().where(Booking.order_id == Order.id)
    return sa.select(Order.id).where(Order.promo_id == promo_id,
                                     sa.or_(Order.state.in_(LIVE_STATES), made_booking))


def redemption_counts(promo_ids: list[int]) -> dict[int, int]:
    """Live redemptions per promo id, in one query."""
    if not promo_ids:
        return {}
    made_booking = sa.exists().where(Booking.order_id == Order.id)
    rows = db.session.execute(
        sa.select(Order.promo_id, sa.func.count()).where(
            Order.promo_id.in_(promo_ids), sa.or_(Order.state.in_(LIVE_STATES), made_booking))
        .group_by(Order.promo_id)
    ).all()
    return {int(pid): int(n) for pid, n in rows if pid is not None}


def _check_limits(promo: PromoCode, user_id: int, exclude_order_id: int | None = None) -> None:
    """Raise promo_exhausted / promo_already_used; call with the promo row locked."""
    live = _live(promo.id)
    if exclude_order_id is not None:
        live = live.where(Order.id != exclude_order_id)
    if promo.once_per_user:
        mine = db.session.scalar(sa.select(sa.func.count()).select_from(
            live.where(Order.user_id == user_id).subquery())) or 0
        if mine:
            raise Conflict("You have already used this promo code.", code="promo_already_used",
                           details={"promo_code": promo.code})
    if promo.max_redemptions is not None:
        used = db.session.scalar(sa.select(sa.func.count()).select_from(live.subquery())) or 0
        if used >= promo.max_redemptions:
            raise Conflict("This promo code has been used up.", code="promo_exhausted",
                           details={"promo_code": promo.code})


def apply(code: str, user_id: int, subtotal: int, *, lock: bool = True) -> Applied:
    """Validate code for user_id on an order of subtotal paise and lock its row until the commit.

    The caller creates the order (naming promo_id) in the same transaction, which is what makes the
    redemption count. `lock=False` only looks (a quote: nothing is held, nothing is promised).
    Raises ValidationError `promo_invalid` (unknown, inactive, not yet valid),
    `promo_expired`, `promo_min_amount`; Conflict `promo_exhausted`, `promo_already_used`.
    """
    promo = _find(code, lock=lock)
    if promo is None or not promo.is_active:
        raise ValidationError("This promo code is not valid.", code="promo_invalid",
                              details={"promo_code": normalize_code(code)})
    now = _now()
    if promo.valid_from is not None and now < promo.valid_from:
        raise ValidationError("This promo code is not valid yet.", code="promo_invalid",
                              details={"promo_code": promo.code, "valid_from": promo.valid_from.isoformat()})
    if promo.valid_until is not None and now >= promo.valid_until:
        raise ValidationError("This promo code has expired.", code="promo_expired",
                              details={"promo_code": promo.code, "valid_until": promo.valid_until.isoformat()})
    if subtotal < promo.min_order_amount:
        raise ValidationError("The order is too small for this promo code.", code="promo_min_amount",
                              details={"promo_code": promo.code, "min_order_amount": promo.min_order_amount,
                                       "subtotal": subtotal})
    _check_limits(promo, user_id)
    return Applied(promo, subtotal, discount_for(promo, subtotal))


def still_redeemable(order: Order) -> bool:
    """For an order whose redemption was given back (failed, expired) and is now being paid: take it
    again under the row lock if the code's limits still allow it."""
    if order.promo_id is None:
        return True
    promo = db.session.scalar(sa.select(PromoCode).where(PromoCode.id == order.promo_id).with_for_update())
    if promo is None:
        return False
    try:
        _check_limits(promo, order.user_id, exclude_order_id=order.id)
    except Conflict as exc:
        log.warning("order %s paid late but promo %s is %s", order.public_id, promo.code, exc.code)
        return False
    return True


# ---------------------------------------------------------------- staff


def list_promos(page: int, per_page: int, q: str | None = None, active: bool | None = None,
                ) -> tuple[list[PromoCode], int]:
    stmt = sa.select(PromoCode)
    if q:
        stmt = stmt.where(PromoCode.code.contains(normalize_code(q), autoescape=True))
    if active is not None:
        stmt = stmt.where(PromoCode.is_active.is_(active))
    items, total = paging.paged(stmt, (PromoCode.created_at.desc(), PromoCode.id.desc()), page, per_page)
    _attach_counts(items)
    return items, total


def _attach_counts(promos: list[PromoCode]) -> None:
    counts = redemption_counts([p.id for p in promos])
    for promo in promos:
        promo.redemptions = counts.get(promo.id, 0)  # type: ignore[attr-defined]  # read by the schema


def _promo(promo_id: int) -> PromoCode:
    promo = db.session.get(PromoCode, promo_id)
    if promo is None:
        raise NotFound(f"Promo code {promo_id} was not found.", code="promo_not_found")
    return promo


def _check_rules(promo: PromoCode) -> None:
    fields: dict[str, str] = {}
    if promo.kind is PromoKind.PERCENT and promo.value > 100:
        fields["value"] = "a percentage is at most 100"
    if promo.kind is PromoKind.FLAT and promo.max_discount is not None:
        fields["max_discount"] = "only a percent code has a maximum discount"
    if promo.valid_from and promo.valid_until and promo.valid_until <= promo.valid_from:
        fields["valid_until"] = "must be after valid_from"
    if fields:
        raise ValidationError("The promo code is not valid: " + ", ".join(sorted(fields)),
                              details={"fields": fields})


def create_promo(actor: User, data: dict[str, Any]) -> PromoCode:
    """Add a code. Raises ValidationError (rules across fields), Conflict `promo_code_taken`."""
    values = {**data, "code": normalize_code(data["code"])}
    if not CODE_PATTERN.match(values["code"]):
        raise ValidationError("Codes are 3-32 letters, digits, '-' or '_'.",
                              details={"fields": {"code": "3-32 letters, digits, '-' or '_'"}})
    if "kind" in values:
        values["kind"] = PromoKind(values["kind"])
    promo = PromoCode(**values)
    _check_rules(promo)
    db.session.add(promo)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict("A promo code with this code exists.", code="promo_code_taken",
                       details={"code": values["code"]}) from exc
    audit(actor, "promo.create", "promo_code", promo.id, values)
    _attach_counts([promo])
    return promo


def update_promo(actor: User, promo_id: int, data: dict[str, Any]) -> PromoCode:
    """Change a code's terms (the code itself stays: orders name it). Raises NotFound, ValidationError."""
    promo = _promo(promo_id)
    changes = apply_changes(promo, {**data, **({"kind": PromoKind(data["kind"])} if "kind" in data else {})})
    _check_rules(promo)
    if changes:
        db.session.flush()
        audit(actor, "promo.update", "promo_code", promo.id, changes)
    _attach_counts([promo])
    return promo


def deactivate_promo(actor: User, promo_id: int) -> PromoCode:
    """Stop a code being used (orders already made keep their discount). Raises NotFound."""
    promo = _promo(promo_id)
    if promo.is_active:
        promo.is_active = False
        db.session.flush()
        audit(actor, "promo.deactivate", "promo_code", promo.id, {"is_active": [True, False]})
    _attach_counts([promo])
    return promo
