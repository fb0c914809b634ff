"""The purchase with a real Celery worker: webhooks confirmed and tickets rendered in another process."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.extensions import db
from app.models import Booking, WebhookEvent
from tests.conftest import make_test_app
from tests.factories import auth_headers, make_movie, make_showtime, make_user
from tests.purchase_support import (
    KEY_ID,
    KEY_SECRET,
    WEBHOOK_SECRET,
    create_order,
    dev_pay,
    lock,
    sign_payment,
    verify,
    webhook_request,
)
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.worker


@pytest.fixture(scope="module")
def worker_shop(app, tmp_path_factory, worker_log):
    tickets = tmp_path_factory.mktemp("tickets")
    settings = {"RAZORPAY_KEY_ID": KEY_ID, "RAZORPAY_KEY_SECRET": KEY_SECRET,
                "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET, "TICKETS_DIR": str(tickets)}
    proc = start_worker(worker_log, settings)
    shop = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL, **settings)
    assert shop.extensions["celery"].conf.task_always_eager is False
    yield shop
    stop_worker(proc)
    with shop.app_context():
        db.engine.dispose()


@pytest.fixture()
def wclient(worker_shop):
    with worker_shop.app_context():
        yield worker_shop.test_client()
        db.session.remove()


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_purchase_with_ticket_rendered_by_the_worker(wclient, worker_log):
    buyer, stranger = make_user(), make_user()
    showtime = make_showtime(make_movie(title="Paper Lanterns"))
    lock(wclient, buyer, showtime.id, ["L1", "L2"])
    order = create_order(wclient, buyer, showtime.id, ["L1", "L2"])
    paid = dev_pay(wclient, buyer, order["gateway_order_id"])
    body = verify(wclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"],
                  sign_payment(order["gateway_order_id"], paid["razorpay_payment_id"])).get_json()
    assert body["status"] == "booked"
    booking_id = body["booking"]["id"]
    url = f"/api/payments/bookings/{booking_id}/ticket.pdf"

    def rendered():
        response = wclient.get(url, headers=auth_headers(buyer))
        assert response.status_code in (200, 202), response.get_json()
        return response if response.status_code == 200 else None

    pdf = wait_for(rendered, what="the worker to render the ticket")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Paper Lanterns" in text and body["booking"]["reference"] in text and "L1" in text
    assert "workers.tickets.render_ticket" in worker_log.read_text()  # rendered in the worker process
    assert wclient.get(url, headers=auth_headers(stranger)).status_code == 404

    def mailed():  # the confirmation follows the rendering, in the worker: the test ends once it is done
        db.session.expire_all()
        return db.session.get(Booking, booking_id).confirmation_mailed_at
    wait_for(mailed, what="the worker to send the confirmation")


def test_webhook_alone_books_through_the_worker(wclient, worker_log):
    buyer = make_user()
    showtime = make_showtime()
    lock(wclient, buyer, showtime.id, ["K1"])
    order = create_order(wclient, buyer, showtime.id, ["K1"])
    paid = dev_pay(wclient, buyer, order["gateway_order_id"])
    raw, headers = webhook_request("payment.captured", order["gateway_order_id"], paid["razorpay_payment_id"],
                                   order["amount"], "evt_worker_1")
    for _ in range(5):
        assert wclient.post("/api/payments/webhook", data=raw, headers=headers).status_code == 200
    wait_for(lambda: _count(Booking) == 1, what="the worker to book from the webhook")
    event = wait_for(lambda: db.session.scalar(sa.select(WebhookEvent).where(WebhookEvent.processed_at.is_not(None))),
                     what="the event to be marked processed")
    assert event.result.startswith("booked:")
    assert _count(Booking) == 1 and _count(WebhookEvent) == 1
    assert "workers.payments.process_webhook" in worker_log.read_text()
