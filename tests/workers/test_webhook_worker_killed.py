"""A Celery worker process SIGKILLed while it confirms a webhook's payment (its booking written but not
committed): the task is delivered again, and the booking exists once, with one ticket."""

from __future__ import annotations

import os
import signal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Booking, WebhookEvent
from tests.conftest import make_test_app
from tests.factories import make_showtime, make_user
from tests.purchase_support import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, create_order, dev_pay, lock, webhook_request
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for
from tests.workers.slow_webhook import marker

pytestmark = pytest.mark.worker


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_worker_killed_mid_webhook_books_once_after_redelivery(app, tmp_path):
    tickets = tmp_path / "tickets"
    settings = {"RAZORPAY_KEY_ID": KEY_ID, "RAZORPAY_KEY_SECRET": KEY_SECRET,
                "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET, "TICKETS_DIR": str(tickets)}
    log = tmp_path / "worker.log"
    proc = start_worker(log, {**settings, "CINEVERSE_TEST_SLOW_WEBHOOK": "1"},
                        options=("--pool", "prefork", "--concurrency", "1", "--include", "tests.workers.slow_webhook"))
    shop = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL, **settings)
    try:
        with shop.app_context():
            client = shop.test_client()
            redis_client = shop.extensions["redis"]
            buyer, showtime = make_user(), make_showtime()
            lock(client, buyer, showtime.id, ["H3"])
            order = create_order(client, buyer, showtime.id, ["H3"])
            paid = dev_pay(client, buyer, order["gateway_order_id"])
            raw, headers = webhook_request("payment.captured", order["gateway_order_id"],
                                           paid["razorpay_payment_id"], order["amount"], "evt_killed_1")
            assert client.post("/api/payments/webhook", data=raw, headers=headers).status_code == 200

            pid = wait_for(lambda: redis_client.get(marker(order["gateway_order_id"]) + ":pid"), timeout=60,
                           what="the worker to be inside the confirmation")
            assert _count(Booking) == 0  # written in its transaction, not committed
            os.kill(int(pid), signal.SIGKILL)

            wait_for(lambda: _count(Booking) == 1, timeout=60, what="the redelivered task to book")
            event = wait_for(lambda: db.session.scalar(
                sa.select(WebhookEvent).where(WebhookEvent.processed_at.is_not(None))), what="the event processed")
            assert event.result.startswith("booked:")
            assert int(redis_client.get(marker(order["gateway_order_id"]))) == 2  # killed once, then done
            booking = db.session.scalar(sa.select(Booking))
            wait_for(lambda: tickets.is_dir() and any(tickets.iterdir()), timeout=60, what="the ticket")
            assert len(list(tickets.iterdir())) == 1 and booking.seat_labels == ["H3"]
            # a replay of the webhook after all that changes nothing
            assert client.post("/api/payments/webhook", data=raw, headers=headers).status_code == 200
            assert _count(Booking) == 1 and _count(WebhookEvent) == 1
            db.session.remove()
    finally:
        stop_worker(proc)
        with shop.app_context():
            db.engine.dispose()
