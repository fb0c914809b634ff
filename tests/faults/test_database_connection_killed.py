"""The database connection of a verify is killed mid-request (pg_terminate_backend, as a failover or an
admin would): the buyer gets a clear 503 with Retry-After, nothing half-written stays, and the retry, or
the webhook alone, confirms the order once."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Booking, Order, OrderState, Payment
from tests.conftest import DATABASE_URL, make_test_app
from tests.factories import auth_headers, make_showtime, make_user
from tests.purchase_support import KEY_ID, KEY_SECRET, sign_payment
from tests.services.test_gateways import FakeRazorpay


def _terminate_app_connections() -> int:
    """Every other backend of the test database, ended by the server (our own admin connection excepted)."""
    url = DATABASE_URL.replace("postgresql://", "postgresql+psycopg2://", 1)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        conn.commit()
    engine.dispose()
    return int(killed)


def _verify(client, headers, order_id, payment_id):
    return client.post("/api/payments/verify", headers=headers, json={
        "razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
        "razorpay_signature": sign_payment(order_id, payment_id)})


def test_a_verify_whose_database_connection_dies_is_a_clear_503_and_the_retry_books(app, tmp_path):
    with FakeRazorpay() as fake:
        shop = make_test_app(PAYMENT_GATEWAY="razorpay", RAZORPAY_KEY_ID=KEY_ID, RAZORPAY_KEY_SECRET=KEY_SECRET,
                             PAYMENTS_WEBHOOK_SECRET="whsec", RAZORPAY_API_BASE_URL=fake.url, TICKETS_DIR=tmp_path)
        with shop.app_context():
            client = shop.test_client()
            showtime = make_showtime()
            buyer = make_user()
            headers = auth_headers(buyer)
            assert client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["F7"]},
                               headers=headers).status_code == 200
            fake.responses.append((200, {"id": "order_Kill", "entity": "order", "amount": 20000, "status": "created"}))
            assert client.post("/api/payments/create-order", json={"showtime_id": showtime.id, "seat_ids": ["F7"]},
                               headers=headers).status_code == 201
            db.session.remove()

            # while the verify asks the gateway what was paid (its order row already read), the database
            # ends every connection of the app
            killed: list[int] = []

            def kill(request):
                if request["method"] == "GET" and "/payments/pay_Kill" in request["path"] and not killed:
                    killed.append(_terminate_app_connections())

            fake.on_request = kill
            fake.payment("pay_Kill", "order_Kill", 20000)
            answer = _verify(client, headers, "order_Kill", "pay_Kill")
            assert killed and killed[0] >= 1
            assert answer.status_code == 503, answer.get_json()
            assert answer.get_json()["error"]["code"] == "database_unavailable" and answer.headers["Retry-After"]
            db.session.remove()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0  # nothing half-written
            assert db.session.scalar(sa.select(Order.state).where(Order.gateway_order_id == "order_Kill")) \
                == OrderState.CREATED

            # the buyer's retry books, once
            fake.on_request = None
            fake.payment("pay_Kill", "order_Kill", 20000)
            retried = _verify(client, headers, "order_Kill", "pay_Kill")
            assert retried.status_code == 200 and retried.get_json()["status"] == "booked", retried.get_json()
            fake.payment("pay_Kill", "order_Kill", 20000)
            again = _verify(client, headers, "order_Kill", "pay_Kill")
            assert again.get_json()["status"] == "booked"
            db.session.remove()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
            db.session.remove()
            db.engine.dispose()
    with app.app_context():  # the suite's own pool lost its connections to the kill too
        db.session.remove()
        db.engine.dispose()
