"""Promo codes on PostgreSQL + Redis: discount math, the checks, redemption limits under contention, the
whole purchase paying the discounted amount, and the staff routes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Booking, Order, OrderState, Payment, PromoCode, PromoKind, Role
from app.services.promos import discount_for
from tests.factories import auth_headers, make_showtime, make_user
from tests.purchase_support import (
    create_order,
    dev_pay,
    lock,
    sign_payment,
    verify,
)

# Default layout prices: rows A-H are 20,000 paise, I-L 35,000 (see app.services.layouts).


def make_promo(**fields) -> PromoCode:
    values = {"code": "SAVE10", "kind": PromoKind.PERCENT, "value": 10, "min_order_amount": 0}
    values.update(fields)
    promo = PromoCode(**values)
    db.session.add(promo)
    db.session.commit()
    return promo


def order_with_code(client, user, showtime_id, seats, code):
    lock(client, user, showtime_id, seats)
    return client.post("/api/payments/create-order", headers=auth_headers(user),
                       json={"showtime_id": showtime_id, "seat_ids": seats, "promo_code": code})


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


@pytest.mark.parametrize(("kind", "value", "cap", "subtotal", "expected"), [
    (PromoKind.PERCENT, 10, None, 40_000, 4_000),
    (PromoKind.PERCENT, 15, None, 33_333, 4_999),        # rounded down to whole paise
    (PromoKind.PERCENT, 50, 5_000, 40_000, 5_000),       # the cap wins
    (PromoKind.PERCENT, 50, 50_000, 40_000, 20_000),     # a cap above the discount changes nothing
    (PromoKind.FLAT, 7_500, None, 40_000, 7_500),
    (PromoKind.FLAT, 50_000, None, 40_000, 39_900),      # never below 100 paise to pay
    (PromoKind.PERCENT, 100, None, 20_000, 19_900),
    (PromoKind.FLAT, 500, None, 80, 0),                  # nothing to take off a sub-rupee order
])
def test_discount_math(kind, value, cap, subtotal, expected):
    promo = PromoCode(code="X", kind=kind, value=value, max_discount=cap, min_order_amount=0)
    assert discount_for(promo, subtotal) == expected


def test_purchase_with_a_code_pays_the_discounted_amount(sclient, sctx):
    buyer = make_user()
    make_promo(code="FLAT50", kind=PromoKind.FLAT, value=5_000)
    showtime = make_showtime()
    response = order_with_code(sclient, buyer, showtime.id, ["A1", "I1"], "  flat50 ")  # any case, trimmed
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert (order["subtotal"], order["discount"], order["amount"]) == (55_000, 5_000, 50_000)
    assert order["promo_code"] == "FLAT50"
    row = db.session.scalar(sa.select(Order))
    assert (row.amount, row.discount, row.promo_code) == (50_000, 5_000, "FLAT50")

    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    result = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"],
                    sign_payment(order["gateway_order_id"], paid["razorpay_payment_id"]))
    assert result.status_code == 200, result.get_json()
    body = result.get_json()
    assert body["status"] == "booked" and body["booking"]["amount"] == 50_000
    assert body["order"]["discount"] == 5_000 and body["order"]["subtotal"] == 55_000
    assert db.session.scalar(sa.select(Payment.amount)) == 50_000
    assert db.session.scalar(sa.select(Booking.amount)) == 50_000


def test_a_capture_of_the_undiscounted_amount_is_refunded_not_booked(sclient, sctx):
    """The webhook compares the captured amount with the discounted order amount."""
    from tests.purchase_support import webhook_request

    buyer = make_user()
    make_promo(code="TENOFF", kind=PromoKind.PERCENT, value=10)
    showtime = make_showtime()
    order = order_with_code(sclient, buyer, showtime.id, ["B1"], "tenoff").get_json()
    assert order["amount"] == 18_000
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    body, headers = webhook_request("payment.captured", order["gateway_order_id"], paid["razorpay_payment_id"],
                                    20_000, "evt_promo_full_price")
    assert sclient.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    db.session.expire_all()
    # refunded; here the dev gateway refuses to refund more than it took, so the refund waits for staff
    assert db.session.scalar(sa.select(Order.state)) in (OrderState.REFUND_PENDING, OrderState.REFUNDED,
                                                         OrderState.REFUND_FAILED)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def expire_unpaid(*gateway_order_ids: str) -> None:
    """The orders' payment windows pass (a failed attempt alone keeps an order waiting)."""
    from datetime import datetime, timedelta, timezone

    from app.services import orders
    from app.services.uow import transaction

    with transaction():
        db.session.execute(sa.update(Order).where(Order.gateway_order_id.in_(gateway_order_ids))
                           .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        orders.expire_stale_orders()


def test_a_full_discount_still_charges_one_rupee_and_books(sclient, sctx):
    buyer = make_user()
    make_promo(code="FREE", kind=PromoKind.PERCENT, value=100)
    showtime = make_showtime()
    response = order_with_code(sclient, buyer, showtime.id, ["C1", "C2"], "free")
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert (order["subtotal"], order["discount"], order["amount"]) == (40_000, 39_900, 100)
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    result = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"],
                    paid["razorpay_signature"]).get_json()
    assert result["status"] == "booked" and result["booking"]["amount"] == 100


def test_percent_code_with_a_cap_and_a_minimum(sclient, sctx):
    buyer = make_user()
    make_promo(code="BIG", kind=PromoKind.PERCENT, value=50, max_discount=10_000, min_order_amount=40_000)
    showtime = make_showtime()
    small = order_with_code(sclient, buyer, showtime.id, ["D1"], "big")
    assert small.status_code == 422 and error_code(small) == "promo_min_amount"
    assert small.get_json()["error"]["details"]["min_order_amount"] == 40_000
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    big = order_with_code(sclient, buyer, showtime.id, ["D1", "D2"], "Big")
    assert big.status_code == 201 and big.get_json()["discount"] == 10_000 and big.get_json()["amount"] == 30_000


@pytest.mark.parametrize(("fields", "expected"), [
    ({"code": "OTHER"}, "promo_invalid"),
    ({"is_active": False}, "promo_invalid"),
    ({"valid_from": datetime.now(timezone.utc) + timedelta(days=1)}, "promo_invalid"),
    ({"valid_from": datetime.now(timezone.utc) - timedelta(days=2),
      "valid_until": datetime.now(timezone.utc) - timedelta(minutes=1)}, "promo_expired"),
])
def test_unknown_inactive_early_and_expired_codes_are_refused(sclient, sctx, fields, expected):
    buyer = make_user()
    make_promo(**fields)
    showtime = make_showtime()
    response = order_with_code(sclient, buyer, showtime.id, ["E1"], "save10")
    assert response.status_code == 422 and error_code(response) == expected, response.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    # the same seats can still be bought without the code
    assert create_order(sclient, buyer, showtime.id, ["E1"])["amount"] == 20_000


def test_once_per_user_and_an_expired_order_gives_the_redemption_back(sclient, sctx):
    buyer, friend = make_user(), make_user()
    make_promo(code="ONCE", once_per_user=True)
    showtime = make_showtime()
    first = order_with_code(sclient, buyer, showtime.id, ["F1"], "once")
    assert first.status_code == 201
    again = order_with_code(sclient, buyer, showtime.id, ["F5"], "ONCE")  # another order while the first is open
    assert again.status_code == 409 and error_code(again) == "promo_already_used"
    assert order_with_code(sclient, friend, showtime.id, ["F9"], "once").status_code == 201  # others may

    expire_unpaid(first.get_json()["gateway_order_id"])  # never paid: the code is the buyer's to use again
    retry = order_with_code(sclient, buyer, showtime.id, ["F5"], "once")
    assert retry.status_code == 201, retry.get_json()
    paid = dev_pay(sclient, buyer, retry.get_json()["gateway_order_id"])
    assert verify(sclient, buyer, retry.get_json()["gateway_order_id"], paid["razorpay_payment_id"],
                  paid["razorpay_signature"]).get_json()["status"] == "booked"
    # a booking keeps its redemption, even once cancelled: no book / cancel / book again
    booking_id = db.session.scalar(sa.select(Booking.id))
    assert sclient.post(f"/api/payments/bookings/{booking_id}/cancel", headers=auth_headers(buyer)).status_code == 200
    after_cancel = order_with_code(sclient, buyer, showtime.id, ["F7"], "once")
    assert after_cancel.status_code == 409 and error_code(after_cancel) == "promo_already_used"


def test_an_expired_order_gives_its_redemption_back(sclient, sctx, shop):
    first, second = make_user(), make_user()
    make_promo(code="LAST1", max_redemptions=1, once_per_user=False)
    showtime = make_showtime()
    assert order_with_code(sclient, first, showtime.id, ["G1"], "last1").status_code == 201
    refused = order_with_code(sclient, second, showtime.id, ["G2"], "last1")
    assert refused.status_code == 409 and error_code(refused) == "promo_exhausted"
    db.session.execute(sa.update(Order).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()
    shop.extensions["celery"].tasks["workers.payments.expire_orders"].apply()
    assert order_with_code(sclient, second, showtime.id, ["G2"], "last1").status_code == 201


def test_switching_the_code_of_an_open_order_frees_the_old_redemption(sclient, sctx):
    buyer, other = make_user(), make_user()
    make_promo(code="ONLY1", max_redemptions=1, once_per_user=False)
    make_promo(code="SAVE10")
    showtime = make_showtime()
    first = order_with_code(sclient, buyer, showtime.id, ["H1"], "only1").get_json()
    again = sclient.post("/api/payments/create-order", headers=auth_headers(buyer),
                         json={"showtime_id": showtime.id, "seat_ids": ["H1"], "promo_code": "ONLY1"}).get_json()
    assert again["order_id"] == first["order_id"]  # the same open order again
    switched = sclient.post("/api/payments/create-order", headers=auth_headers(buyer),
                            json={"showtime_id": showtime.id, "seat_ids": ["H1"], "promo_code": "save10"})
    assert switched.status_code == 201 and switched.get_json()["order_id"] != first["order_id"]
    assert switched.get_json()["discount"] == 2_000
    assert order_with_code(sclient, other, showtime.id, ["H5"], "only1").status_code == 201


def test_the_total_cap_holds_when_many_buyers_race(shop, sctx):
    """Eight buyers create orders with a two-use code at the same moment, each from its own thread and
    database connection: exactly two get the discount."""
    cap, buyers = 2, [make_user() for _ in range(8)]
    make_promo(code="RACE", max_redemptions=cap, once_per_user=False)
    showtime = make_showtime()
    client = shop.test_client()
    seats = [f"J{n}" for n in range(1, len(buyers) + 1)]
    for buyer, seat in zip(buyers, seats, strict=True):
        lock(client, buyer, showtime.id, [seat])
    headers = [auth_headers(b) for b in buyers]
    barrier = threading.Barrier(len(buyers))
    results: list[tuple[int, str | None]] = []
    guard = threading.Lock()

    def buy(i: int) -> None:
        own = shop.test_client()
        barrier.wait()
        response = own.post("/api/payments/create-order", headers=headers[i],
                            json={"showtime_id": showtime.id, "seat_ids": [seats[i]], "promo_code": "race"})
        body = response.get_json()
        with guard:
            results.append((response.status_code, body.get("error", {}).get("code")))

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(len(buyers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(201, None)] * cap + [(409, "promo_exhausted")] * (len(buyers) - cap), results
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.promo_code == "RACE")) == cap


def test_once_per_user_holds_when_one_user_races_themselves(shop, sctx):
    buyer = make_user()
    make_promo(code="MINE", once_per_user=True)
    showtime = make_showtime()
    client = shop.test_client()
    seats = [["K1"], ["K2"], ["K3"], ["K4"]]
    lock(client, buyer, showtime.id, [s[0] for s in seats])
    headers = auth_headers(buyer)
    barrier = threading.Barrier(len(seats))
    statuses: list[int] = []
    guard = threading.Lock()

    def buy(labels: list[str]) -> None:
        own = shop.test_client()
        barrier.wait()
        response = own.post("/api/payments/create-order", headers=headers,
                            json={"showtime_id": showtime.id, "seat_ids": labels, "promo_code": "mine"})
        with guard:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=buy, args=(labels,)) for labels in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * (len(seats) - 1), statuses


def test_promo_codes_are_staff_only_and_audited(client, ctx):
    admin, user = make_user(role=Role.ADMIN), make_user()
    body = {"code": "Diwali25", "kind": "percent", "value": 25, "max_discount": 15_000,
            "min_order_amount": 30_000, "max_redemptions": 500,
            "valid_until": (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()}
    assert client.post("/api/admin/promo-codes", json=body, headers=auth_headers(user)).status_code == 403
    assert client.get("/api/admin/promo-codes", headers=auth_headers(user)).status_code == 403
    assert client.post("/api/admin/promo-codes", json=body).status_code == 401

    created = client.post("/api/admin/promo-codes", json=body, headers=auth_headers(admin))
    assert created.status_code == 201, created.get_json()
    promo = created.get_json()
    assert promo["code"] == "DIWALI25" and promo["kind"] == "percent" and promo["redemptions"] == 0
    assert promo["once_per_user"] is True and promo["is_active"] is True
    duplicate = client.post("/api/admin/promo-codes", json={**body, "code": "diwali25"}, headers=auth_headers(admin))
    assert duplicate.status_code == 409 and error_code(duplicate) == "promo_code_taken"
    too_much = client.post("/api/admin/promo-codes", json={**body, "code": "HUGE", "value": 150},
                           headers=auth_headers(admin))
    assert too_much.status_code == 422 and "value" in too_much.get_json()["error"]["details"]["fields"]
    backwards = client.post("/api/admin/promo-codes", headers=auth_headers(admin), json={
        **body, "code": "BACK", "valid_from": body["valid_until"],
        "valid_until": datetime.now(timezone.utc).isoformat()})
    assert backwards.status_code == 422

    updated = client.patch(f"/api/admin/promo-codes/{promo['id']}", json={"value": 30},
                           headers=auth_headers(admin))
    assert updated.status_code == 200 and updated.get_json()["value"] == 30
    assert client.patch(f"/api/admin/promo-codes/{promo['id']}", json={"code": "NEW"},
                        headers=auth_headers(admin)).status_code == 422  # the code itself never changes
    gone = client.delete(f"/api/admin/promo-codes/{promo['id']}", headers=auth_headers(admin))
    assert gone.status_code == 200 and gone.get_json()["is_active"] is False
    assert client.delete("/api/admin/promo-codes/999999", headers=auth_headers(admin)).status_code == 404

    listed = client.get("/api/admin/promo-codes?q=wali&per_page=5", headers=auth_headers(admin)).get_json()
    assert listed["total"] == 1 and listed["page"] == 1 and listed["per_page"] == 5
    assert listed["items"][0]["code"] == "DIWALI25"
    assert client.get("/api/admin/promo-codes?active=true", headers=auth_headers(admin)).get_json()["total"] == 0
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["promo.create", "promo.update", "promo.deactivate"]


def test_a_late_capture_of_an_expired_order_is_refunded_when_the_code_was_used_up(sclient, sctx):
    """An expired order gives its redemption back; if the code is then used up and the expired order is
    captured after all, it is refunded rather than booked over the cap. With room left, it books."""
    from app.models import Refund
    from app.services import orders
    from app.services.uow import transaction

    slow, fast, third = make_user(), make_user(), make_user()
    make_promo(code="ONEUSE", max_redemptions=1, once_per_user=False)
    make_promo(code="ROOMY", max_redemptions=5, once_per_user=False)
    showtime = make_showtime()
    slow_order = order_with_code(sclient, slow, showtime.id, ["L1"], "oneuse").get_json()
    roomy_order = order_with_code(sclient, third, showtime.id, ["L5"], "roomy").get_json()
    expire_unpaid(slow_order["gateway_order_id"], roomy_order["gateway_order_id"])
    assert order_with_code(sclient, fast, showtime.id, ["L2"], "oneuse").status_code == 201  # the one use

    for order, user in ((slow_order, slow), (roomy_order, third)):
        paid = dev_pay(sclient, user, order["gateway_order_id"])
        with transaction():
            orders.confirm_payment(order["gateway_order_id"], paid["razorpay_payment_id"])
    db.session.expire_all()
    states = dict(db.session.execute(sa.select(Order.public_id, Order.state)).all())
    assert states[slow_order["order_id"]] in (OrderState.REFUND_PENDING, OrderState.REFUNDED)
    assert db.session.scalar(sa.select(Refund.reason)) == "promo_unavailable"
    assert states[roomy_order["order_id"]] == OrderState.BOOKED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_the_promo_row_is_not_locked_while_the_gateway_answers_and_an_edit_meanwhile_refuses(
        sclient, sctx, monkeypatch):
    """The gateway's round trip happens before the code's row is locked: another buyer of the code never
    waits on it. A code edited during that round trip refuses the order rather than charge a stale price."""
    from app.services.payment_gateways.dev import DevGateway

    buyer = make_user()
    promo = make_promo(code="SLOWGW", kind=PromoKind.FLAT, value=5_000)
    showtime = make_showtime()
    original = DevGateway.create_order
    seen: list[str] = []

    def during_the_call(edit: bool):
        def create_order(self, *args, **kwargs):
            with db.engine.connect() as other:  # another transaction, as another buyer would be
                other.execute(sa.text("SET lock_timeout = '200ms'"))
                locked = other.execute(sa.select(PromoCode.id).where(PromoCode.id == promo.id)
                                       .with_for_update(nowait=True)).scalar()
                seen.append("free" if locked == promo.id else "missing")
                if edit:
                    other.execute(sa.update(PromoCode).where(PromoCode.id == promo.id).values(value=6_000))
                other.commit()
            return original(self, *args, **kwargs)
        return create_order

    monkeypatch.setattr(DevGateway, "create_order", during_the_call(edit=False))
    response = order_with_code(sclient, buyer, showtime.id, ["C1"], "slowgw")
    assert response.status_code == 201 and response.get_json()["discount"] == 5_000, response.get_json()
    assert seen == ["free"]

    monkeypatch.setattr(DevGateway, "create_order", during_the_call(edit=True))
    changed = order_with_code(sclient, make_user(), showtime.id, ["C2"], "slowgw")
    assert changed.status_code == 409 and error_code(changed) == "promo_changed", changed.get_json()
    assert seen == ["free", "free"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.promo_id == promo.id)) == 1
