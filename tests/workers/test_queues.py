"""Queues by urgency (issue 16): every task has its queue, and a backlog of 5,000 mails does not delay a
webhook's confirmation on a worker that consumes both."""

from __future__ import annotations

import time

import pytest
import redis
import sqlalchemy as sa

from app.extensions import db
from app.models import Booking
from app.services import tasks
from tests.conftest import make_test_app
from tests.factories import make_showtime, make_user
from tests.purchase_support import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, create_order, dev_pay, lock, webhook_request
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for


def test_every_task_has_its_queue(app):
    names = {n for n in app.extensions["celery"].tasks if n.startswith("workers.")}  # the app's own tasks
    assert names and names <= set(tasks.TASK_ROUTES), names - set(tasks.TASK_ROUTES)
    assert tasks.TASK_ROUTES[tasks.PROCESS_WEBHOOK] == {"queue": "payments"}
    assert tasks.TASK_ROUTES[tasks.SEND_OTP_EMAIL] == {"queue": "otp"}


@pytest.mark.worker
def test_a_webhook_is_confirmed_while_5000_mails_wait(app, tmp_path):
    settings = {"RAZORPAY_KEY_ID": KEY_ID, "RAZORPAY_KEY_SECRET": KEY_SECRET,
                "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET, "TICKETS_DIR": str(tmp_path / "tickets")}
    worker = start_worker(tmp_path / "worker.log", settings, ("--pool", "threads", "--concurrency", "2"))
    shop = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL, **settings)
    broker = redis.Redis.from_url(BROKER_URL)
    try:
        with shop.app_context():
            client = shop.test_client()
            buyer = make_user()
            showtime = make_showtime()
            lock(client, buyer, showtime.id, ["L1"])
            order = create_order(client, buyer, showtime.id, ["L1"])
            paid = dev_pay(client, buyer, order["gateway_order_id"])
            # 5,000 mail runs (for a showtime nobody waits for: each is a few queries) queued first
            celery = shop.extensions["celery"]
            with celery.producer_or_acquire() as producer:
                for _ in range(5000):
                    celery.tasks[tasks.NOTIFY_WAITLIST].apply_async(args=[999_999], producer=producer)
            assert broker.llen("mail") > 4000
            raw, headers = webhook_request("payment.captured", order["gateway_order_id"], paid["razorpay_payment_id"],
                                           order["amount"], "evt_backlog_1")
            sent = time.monotonic()
            assert client.post("/api/payments/webhook", data=raw, headers=headers).status_code == 200

            def booked() -> bool:
                db.session.expire_all()
                return bool(db.session.scalar(sa.select(sa.func.count()).select_from(Booking)))

            wait_for(booked, timeout=30, what="the webhook's booking")
            took = time.monotonic() - sent
            waiting = broker.llen("mail")
            assert waiting > 1000, (took, waiting)  # confirmed long before the backlog was worked off
            db.session.remove()
    finally:
        stop_worker(worker)
        broker.flushdb()
        with shop.app_context():
            db.engine.dispose()
