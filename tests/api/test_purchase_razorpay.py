"""The purchase with PAYMENT_GATEWAY=razorpay: the official SDK talks to a Razorpay stand-in on loopback."""

from __future__ import annotations

import base64

import sqlalchemy as sa

from app.extensions import db
from app.models import Booking, Refund, RefundState
from tests.factories import make_showtime, make_user
from tests.purchase_support import KEY_ID, KEY_SECRET, create_order, lock, lose_seat_locks, sign_payment, verify


def test_razorpay_order_verify_and_refund_through_the_sdk(razorpay_shop, redis_client):
    shop, fake = razorpay_shop
    client = shop.test_client()
    assert client.get("/api/payments/gateway-status").get_json()["gateway"] == "razorpay"
    slow, fast = make_user(), make_user()
    showtime = make_showtime()

    lock(client, slow, showtime.id, ["I5", "I6"])
    fake.responses.append((200, {"id": "order_Slow123", "entity": "order", "amount": 70000, "status": "created"}))
    slow_order = create_order(client, slow, showtime.id, ["I5", "I6"])
    sent = fake.requests[-1]
    assert sent["path"].endswith("/orders") and sent["json"]["amount"] == 70_000 == slow_order["amount"]
    assert sent["json"]["currency"] == "INR" and sent["json"]["receipt"] == slow_order["order_id"]
    assert base64.b64decode(sent["headers"]["Authorization"][6:]).decode() == f"{KEY_ID}:{KEY_SECRET}"
    assert slow_order["gateway_order_id"] == "order_Slow123" and slow_order["key_id"] == KEY_ID

    # the slow buyer's holds lapse and a fast buyer books the seats first
    lose_seat_locks(redis_client, showtime.id)
    lock(client, fast, showtime.id, ["I5", "I6"])
    fake.responses.append((200, {"id": "order_Fast456", "entity": "order", "amount": 70000, "status": "created"}))
    fast_order = create_order(client, fast, showtime.id, ["I5", "I6"])
    fake.payment("pay_Fast456", "order_Fast456", 70_000)
    fast_paid = verify(client, fast, "order_Fast456", "pay_Fast456", sign_payment("order_Fast456", "pay_Fast456"))
    assert fast_paid.get_json()["status"] == "booked", fast_paid.get_json()
    assert fast_order["amount"] == 70_000

    # the slow buyer's payment on Razorpay succeeds too: it is refunded through the SDK
    fake.payment("pay_Slow123", "order_Slow123", 70_000)
    fake.responses.append((200, {"id": "rfnd_Slow789", "entity": "refund", "amount": 70000,
                                 "payment_id": "pay_Slow123", "status": "processed"}))
    refunded = verify(client, slow, "order_Slow123", "pay_Slow123", sign_payment("order_Slow123", "pay_Slow123"))
    assert refunded.status_code == 200 and refunded.get_json()["status"] == "refunded"
    refund_call = fake.requests[-1]
    assert refund_call["path"].endswith("/payments/pay_Slow123/refund")
    assert refund_call["json"]["amount"] == 70_000
    refund = db.session.scalar(sa.select(Refund))
    assert refund_call["headers"]["X-Refund-Idempotency"] == refund.key == f"cineverse-refund-{refund.id}"
    assert refund.state == RefundState.PROCESSED and refund.gateway_refund_id == "rfnd_Slow789"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_razorpay_outage_at_order_time_is_a_clear_503(razorpay_shop):
    shop, fake = razorpay_shop
    client = shop.test_client()
    buyer = make_user()
    showtime = make_showtime()
    lock(client, buyer, showtime.id, ["A9"])
    fake.responses.extend([(503, {"error": {"description": "down"}})] * 5)
    from tests.factories import auth_headers

    response = client.post("/api/payments/create-order", headers=auth_headers(buyer),
                           json={"showtime_id": showtime.id, "seat_ids": ["A9"]})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "gateway_unavailable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
