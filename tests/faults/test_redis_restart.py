"""Redis restarted, every key lost, between a buyer's lock and their verify: no seat is sold twice, the
paid order ends as a booking or a refund, and holds work again without restarting the app."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Booking, BookingState, Order, OrderState, Refund
from tests.conftest import make_test_app
from tests.factories import auth_headers, make_showtime, make_user
from tests.purchase_support import KEY_ID, KEY_SECRET, sign_payment
from tests.services.test_gateways import FakeRazorpay


def _lock(client, user, showtime_id, seats):
    return client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": seats},
                       headers=auth_headers(user))


def _order(client, user, showtime_id, seats):
    return client.post("/api/payments/create-order", json={"showtime_id": showtime_id, "seat_ids": seats},
                       headers=auth_headers(user))


def _verify(client, user, order_id, payment_id):
    return client.post("/api/payments/verify", headers=auth_headers(user), json={
        "razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
        "razorpay_signature": sign_payment(order_id, payment_id)})


def test_redis_restarted_between_lock_and_verify(app, own_redis, tmp_path):
    with FakeRazorpay() as fake:
        shop = make_test_app(REDIS_URL=own_redis.url, PAYMENT_GATEWAY="razorpay", RAZORPAY_KEY_ID=KEY_ID,
                             RAZORPAY_KEY_SECRET=KEY_SECRET, PAYMENTS_WEBHOOK_SECRET="whsec",
                             RAZORPAY_API_BASE_URL=fake.url, TICKETS_DIR=tmp_path)
        with shop.app_context():
            client = shop.test_client()
            showtime = make_showtime()
            first, second = make_user(), make_user()
            assert _lock(client, first, showtime.id, ["E5"]).status_code == 200
            fake.responses.append((200, {"id": "order_First", "entity": "order", "amount": 20000, "status": "created"}))
            assert _order(client, first, showtime.id, ["E5"]).status_code == 201

            own_redis.restart()  # every hold, facts copy, revocation mirror and script cache is gone

            # new holds work at once: the app's pool reconnects by itself (one retry at most for a buyer)
            locked = _lock(client, second, showtime.id, ["E5"])
            if locked.status_code == 503:
                assert locked.headers.get("Retry-After")
                locked = _lock(client, second, showtime.id, ["E5"])
            assert locked.status_code == 200, locked.get_json()
            fake.responses.append((200, {"id": "order_Second", "entity": "order", "amount": 20000,
                                         "status": "created"}))
            assert _order(client, second, showtime.id, ["E5"]).status_code == 201

            # the first buyer paid before the restart: the database still has the seat, so it is theirs
            fake.payment("pay_First", "order_First", 20000)
            booked = _verify(client, first, "order_First", "pay_First")
            assert booked.status_code == 200 and booked.get_json()["status"] == "booked", booked.get_json()
            # the second buyer pays too: the seat is gone, the money goes back (once, with its key)
            fake.payment("pay_Second", "order_Second", 20000)
            fake.responses.append((200, {"id": "rfnd_Second", "entity": "refund", "amount": 20000,
                                         "payment_id": "pay_Second", "status": "processed"}))
            refunded = _verify(client, second, "order_Second", "pay_Second")
            assert refunded.status_code == 200 and refunded.get_json()["status"] == "refunded", refunded.get_json()

            bookings = db.session.scalars(sa.select(Booking).where(Booking.showtime_id == showtime.id)).all()
            assert [(b.user_id, b.seat_labels, b.state) for b in bookings] == [
                (first.id, ["E5"], BookingState.CONFIRMED)]
            states = dict(db.session.execute(sa.select(Order.gateway_order_id, Order.state)
                                             .where(Order.showtime_id == showtime.id)).all())
            assert states == {"order_First": OrderState.BOOKED, "order_Second": OrderState.REFUNDED}
            refunds = db.session.scalars(sa.select(Refund)).all()
            assert len(refunds) == 1 and refunds[0].key == f"cineverse-refund-{refunds[0].id}"
            refund_calls = [r for r in fake.requests if r["path"].endswith("/refund")]
            assert len(refund_calls) == 1 and refund_calls[0]["headers"]["X-Refund-Idempotency"] == refunds[0].key
            seat_map = client.get(f"/api/showtimes/{showtime.id}/seats").get_json()
            assert {s["id"]: s["status"] for s in seat_map["seats"]}["E5"] == "booked"
            db.session.remove()
            db.engine.dispose()
