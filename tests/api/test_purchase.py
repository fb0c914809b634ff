"""The purchase on PostgreSQL + Redis: lock -> order -> payment -> verify/webhook -> booking -> ticket.

Signatures are made here with the documented HMAC (Razorpay's scheme), never with the project's code.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.extensions import db
from app.models import (
    Booking,
    Order,
    OrderState,
    Payment,
    PaymentState,
    Refund,
    RefundState,
    Role,
    SeatState,
    ShowtimeSeat,
    WebhookEvent,
)
from app.services.payment_gateways import get_gateway
from tests.conftest import make_test_app
from tests.factories import auth_headers, make_movie, make_showtime, make_user
from tests.purchase_support import (
    KEY_ID,
    KEY_SECRET,
    WEBHOOK_SECRET,
    book,
    create_order,
    dev_pay,
    lock,
    lose_seat_locks,
    sign_payment,
    verify,
    webhook_request,
)


def seat_states(showtime_id: int) -> dict[str, SeatState]:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(ShowtimeSeat.label, ShowtimeSeat.state)
                                   .where(ShowtimeSeat.showtime_id == showtime_id)).all())


def test_whole_purchase_to_ticket_download(sclient, sctx):
    buyer, other = make_user(), make_user()
    staff = make_user(role=Role.ADMIN)
    showtime = make_showtime(make_movie(title="The Last Orbit"))
    lock(sclient, buyer, showtime.id, ["A1", "A2", "I1"])

    order = create_order(sclient, buyer, showtime.id, ["A1", "A2", "I1"])
    assert order["amount"] == 20_000 * 2 + 35_000 and order["currency"] == "INR"
    assert order["gateway"] == "dev" and order["key_id"] == KEY_ID and order["state"] == "created"
    # the holds now cover the payment window
    holds = sclient.post("/api/payments/validate-locks", headers=auth_headers(buyer),
                         json={"showtime_id": showtime.id, "seat_ids": ["A1", "A2", "I1"]}).get_json()
    assert holds["valid"] is True
    assert datetime.fromisoformat(holds["expires_at"]) > datetime.now(timezone.utc) + timedelta(minutes=5)

    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    signature = sign_payment(order["gateway_order_id"], paid["razorpay_payment_id"])
    assert hmac.compare_digest(signature, paid["razorpay_signature"])  # the dev gateway signs as Razorpay does
    response = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"], signature)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "booked" and body["order"]["state"] == "booked"
    booking = body["booking"]
    assert booking["seat_ids"] == ["A1", "A2", "I1"] and booking["amount"] == order["amount"]

    again = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"], signature).get_json()
    assert again["booking"]["id"] == booking["id"]  # repeating verify returns the same booking
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1

    states = seat_states(showtime.id)
    assert states["A1"] == states["A2"] == states["I1"] == SeatState.BOOKED and states["A3"] == SeatState.AVAILABLE
    seat_map = {s["id"]: s["status"] for s in sclient.get(f"/api/showtimes/{showtime.id}/seats").get_json()["seats"]}
    assert seat_map["A1"] == "booked"
    mine = sclient.get("/api/user/bookings", headers=auth_headers(buyer)).get_json()
    assert mine["total"] == 1 and mine["items"][0]["reference"] == booking["reference"]

    pdf = sclient.get(f"/api/payments/bookings/{booking['id']}/ticket.pdf", headers=auth_headers(buyer))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in ("The Last Orbit", booking["reference"], "A1", "A2", "I1", "750.00"):
        assert expected in text, expected
    assert sclient.get(f"/api/payments/bookings/{booking['id']}/ticket.pdf",
                       headers=auth_headers(other)).status_code == 404
    assert sclient.get(f"/api/payments/bookings/{booking['id']}", headers=auth_headers(other)).status_code == 404
    assert sclient.get(f"/api/payments/bookings/{booking['id']}/ticket.pdf",
                       headers=auth_headers(staff)).status_code == 200
    assert sclient.get(f"/api/payments/bookings/{booking['id']}/ticket.pdf").status_code == 401


def test_amount_is_never_taken_from_the_client(sclient, sctx):
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["K5"])
    tampered = sclient.post("/api/payments/create-order", headers=auth_headers(buyer),
                            json={"showtime_id": showtime.id, "seat_ids": ["K5"], "amount": 100})
    assert tampered.status_code == 422 and "amount" in tampered.get_json()["error"]["details"]["fields"]
    order = create_order(sclient, buyer, showtime.id, ["K5"])
    assert order["amount"] == 35_000


def test_order_needs_the_callers_holds(sclient, sctx):
    holder, thief = make_user(), make_user()
    showtime = make_showtime()
    lock(sclient, holder, showtime.id, ["C3"])
    response = sclient.post("/api/payments/create-order", headers=auth_headers(thief),
                            json={"showtime_id": showtime.id, "seat_ids": ["C3"]})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "hold_expired"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


@pytest.mark.parametrize("signature", ["0" * 64, "not-hex", None, ""])
def test_verify_refuses_a_wrong_or_missing_signature(sclient, sctx, signature):
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["D4"])
    order = create_order(sclient, buyer, showtime.id, ["D4"])
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    payload = {"razorpay_order_id": order["gateway_order_id"], "razorpay_payment_id": paid["razorpay_payment_id"]}
    if signature is not None:
        payload["razorpay_signature"] = signature
    response = sclient.post("/api/payments/verify", headers=auth_headers(buyer), json=payload)
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["code"] in ("invalid_signature", "validation_error")
    # a signature made with another secret is refused too
    forged = hmac.new(b"another-secret", f"{order['gateway_order_id']}|{paid['razorpay_payment_id']}".encode(),
                      hashlib.sha256).hexdigest()
    assert verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"],
                  forged).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert seat_states(showtime.id)["D4"] == SeatState.AVAILABLE


def test_webhook_alone_confirms_the_booking_and_duplicates_are_harmless(sclient, sctx):
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["E1", "E2"])
    order = create_order(sclient, buyer, showtime.id, ["E1", "E2"])
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])  # the buyer closes the tab: no verify
    body, headers = webhook_request("payment.captured", order["gateway_order_id"], paid["razorpay_payment_id"],
                                    order["amount"], "evt_test_0001")
    answers = [sclient.post("/api/payments/webhook", data=body, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.get_json()["status"] for a in answers] == ["accepted"] + ["duplicate"] * 4
    bookings = db.session.scalars(sa.select(Booking)).all()
    assert len(bookings) == 1 and bookings[0].seat_labels == ["E1", "E2"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 1
    event = db.session.scalar(sa.select(WebhookEvent))
    assert event.processed_at is not None and event.result.startswith("booked:")
    # the same capture under a new event id (a replay) and a late verify still make no second booking
    body2, headers2 = webhook_request("order.paid", order["gateway_order_id"], paid["razorpay_payment_id"],
                                      order["amount"], "evt_test_0002")
    assert sclient.post("/api/payments/webhook", data=body2, headers=headers2).status_code == 200
    again = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"],
                   sign_payment(order["gateway_order_id"], paid["razorpay_payment_id"])).get_json()
    assert again["booking"]["id"] == bookings[0].id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize("signature", [None, "", "deadbeef"])
def test_webhook_with_missing_or_bad_signature_is_400(sclient, sctx, signature):
    body, headers = webhook_request("payment.captured", "order_x", "pay_x", 100, "evt_bad")
    if signature is None:
        headers.pop("X-Razorpay-Signature")
    else:
        headers["X-Razorpay-Signature"] = signature
    response = sclient.post("/api/payments/webhook", data=body, headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_signature"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 0


def test_late_payment_failed_never_undoes_a_capture(sclient, sctx):
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["F1"])
    order = create_order(sclient, buyer, showtime.id, ["F1"])
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    for event, event_id in (("payment.captured", "evt_c"), ("payment.failed", "evt_f")):
        body, headers = webhook_request(event, order["gateway_order_id"], paid["razorpay_payment_id"],
                                        order["amount"], event_id)
        assert sclient.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    row = db.session.scalar(sa.select(Order))
    db.session.refresh(row)
    assert row.state == OrderState.BOOKED and seat_states(showtime.id)["F1"] == SeatState.BOOKED


def test_a_failed_attempt_keeps_the_seats_and_a_capture_after_it_books(sclient, sctx, redis_client):
    """Razorpay documents that a capture can follow a failed attempt (UPI retries, a second card): the failed
    attempt is recorded, the order keeps waiting with its seats held, and the capture books."""
    buyer, next_buyer = make_user(), make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["G7"])
    order = create_order(sclient, buyer, showtime.id, ["G7"])
    failed = dev_pay(sclient, buyer, order["gateway_order_id"], outcome="failure")
    body, headers = webhook_request("payment.failed", order["gateway_order_id"], failed["razorpay_payment_id"],
                                    order["amount"], "evt_fail")
    assert sclient.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    assert db.session.scalar(sa.select(Order.state)) == OrderState.CREATED
    attempt = db.session.scalar(sa.select(Payment).where(Payment.gateway_payment_id == failed["razorpay_payment_id"]))
    assert attempt is not None and attempt.state == PaymentState.FAILED
    taken = sclient.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["G7"]},
                         headers=auth_headers(next_buyer))
    assert taken.status_code == 409  # still the first buyer's until the order expires

    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    answer = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"], paid["razorpay_signature"])
    assert answer.status_code == 200 and answer.get_json()["status"] == "booked"
    assert seat_states(showtime.id)["G7"] == SeatState.BOOKED


def test_a_second_capture_of_a_booked_order_is_refunded(sclient, sctx):
    buyer = make_user()
    order, first, _booking = book(sclient, buyer, make_showtime().id, ["G8"])
    gateway = get_gateway()
    # a second tab paid the same order too (the dev gateway refuses paying a paid order; Razorpay allows
    # several payments of one order): the gateway captured it, and its webhook arrives
    gateway.redis.hset(gateway._order_key(order["gateway_order_id"]), "status", "created")
    second = gateway.simulate_payment(order["gateway_order_id"])
    for event_id in ("evt_dup", "evt_dup_again"):  # redelivered: still one refund
        body, headers = webhook_request("payment.captured", order["gateway_order_id"], second["razorpay_payment_id"],
                                        order["amount"], event_id)
        assert sclient.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    refunds = db.session.scalars(sa.select(Refund)).all()
    assert [(r.reason, r.state, r.amount) for r in refunds] == [
        ("duplicate_payment", RefundState.PROCESSED, order["amount"])]
    assert gateway.get_payment(second["razorpay_payment_id"])["refunded"] == order["amount"]
    assert gateway.get_payment(first["razorpay_payment_id"])["refunded"] == 0
    assert db.session.scalar(sa.select(Order.state)) == OrderState.BOOKED


def test_a_capture_of_a_refund_pending_order_is_recorded_and_refunded(sclient, sctx):
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["G9"])
    order = create_order(sclient, buyer, showtime.id, ["G9"])
    first = dev_pay(sclient, buyer, order["gateway_order_id"])
    wrong = webhook_request("payment.captured", order["gateway_order_id"], first["razorpay_payment_id"],
                            order["amount"] - 1, "evt_short")  # the gateway says less was taken: refunded
    assert sclient.post("/api/payments/webhook", data=wrong[0], headers=wrong[1]).status_code == 200
    gateway = get_gateway()
    gateway.redis.hset(gateway._order_key(order["gateway_order_id"]), "status", "created")
    second = gateway.simulate_payment(order["gateway_order_id"])
    late = webhook_request("payment.captured", order["gateway_order_id"], second["razorpay_payment_id"],
                           order["amount"], "evt_late")
    assert sclient.post("/api/payments/webhook", data=late[0], headers=late[1]).status_code == 200
    recorded = db.session.scalars(sa.select(Payment.gateway_payment_id).order_by(Payment.id)).all()
    assert recorded == [first["razorpay_payment_id"], second["razorpay_payment_id"]]
    assert sorted(r.reason for r in db.session.scalars(sa.select(Refund))) == ["amount_mismatch", "duplicate_payment"]


def test_verify_refuses_a_payment_the_gateway_has_not_captured(sclient, sctx):
    """A valid checkout signature says only that the browser saw a payment: with manual capture it is merely
    authorised. Verify captures it at the gateway before booking; a payment the gateway reports as failed is
    never booked, whatever the signature says."""
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["H1"])
    order = create_order(sclient, buyer, showtime.id, ["H1"])
    gateway = get_gateway()
    authorised = gateway.simulate_payment(order["gateway_order_id"], outcome="authorized")
    answer = verify(sclient, buyer, order["gateway_order_id"], authorised["razorpay_payment_id"],
                    authorised["razorpay_signature"])
    assert answer.status_code == 200 and answer.get_json()["status"] == "booked"
    assert gateway.get_payment(authorised["razorpay_payment_id"])["status"] == "captured"

    lock(sclient, buyer, showtime.id, ["H2"])
    other = create_order(sclient, buyer, showtime.id, ["H2"])
    failed = gateway.simulate_payment(other["gateway_order_id"], outcome="failure")
    forged = sign_payment(other["gateway_order_id"], failed["razorpay_payment_id"])  # a leaked key secret
    answer = verify(sclient, buyer, other["gateway_order_id"], failed["razorpay_payment_id"], forged)
    assert answer.status_code == 402 and answer.get_json()["error"]["code"] == "payment_not_captured"
    assert seat_states(showtime.id)["H2"] == SeatState.AVAILABLE


def test_paid_order_for_seats_sold_meanwhile_is_refunded(sclient, sctx, redis_client):
    slow, fast = make_user(), make_user()
    showtime = make_showtime()
    lock(sclient, slow, showtime.id, ["H9"])
    slow_order = create_order(sclient, slow, showtime.id, ["H9"])
    lose_seat_locks(redis_client, showtime.id)  # the slow buyer's hold lapses
    lock(sclient, fast, showtime.id, ["H9"])
    fast_order = create_order(sclient, fast, showtime.id, ["H9"])
    fast_paid = dev_pay(sclient, fast, fast_order["gateway_order_id"])
    assert verify(sclient, fast, fast_order["gateway_order_id"], fast_paid["razorpay_payment_id"],
                  fast_paid["razorpay_signature"]).get_json()["status"] == "booked"

    slow_paid = dev_pay(sclient, slow, slow_order["gateway_order_id"])
    response = verify(sclient, slow, slow_order["gateway_order_id"], slow_paid["razorpay_payment_id"],
                      sign_payment(slow_order["gateway_order_id"], slow_paid["razorpay_payment_id"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["booking"] is None and body["status"] == "refunded"
    refund = db.session.scalar(sa.select(Refund))
    assert refund.state == RefundState.PROCESSED and refund.amount == slow_order["amount"]
    assert refund.gateway_refund_id and refund.reason == "seats_unavailable"
    payment = db.session.get(Payment, refund.payment_id)
    assert payment.gateway_payment_id == slow_paid["razorpay_payment_id"] and payment.state == PaymentState.REFUNDED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_two_buyers_racing_for_one_seat_end_with_one_booking(sclient, sctx, shop, redis_client):
    first, second = make_user(), make_user()
    showtime = make_showtime()
    lock(sclient, first, showtime.id, ["J4"])
    first_order = create_order(sclient, first, showtime.id, ["J4"])
    lose_seat_locks(redis_client, showtime.id)  # Redis loses its keys: the database must still sell once
    lock(sclient, second, showtime.id, ["J4"])
    second_order = create_order(sclient, second, showtime.id, ["J4"])
    payments = [(first, first_order, dev_pay(sclient, first, first_order["gateway_order_id"])),
                (second, second_order, dev_pay(sclient, second, second_order["gateway_order_id"]))]

    barrier = threading.Barrier(2)
    results: list[dict] = []

    def pay(user, order, paid, headers):
        client = shop.test_client()
        barrier.wait()
        results.append(verify(client, user, order["gateway_order_id"], paid["razorpay_payment_id"],
                              paid["razorpay_signature"], headers).get_json())

    threads = [threading.Thread(target=pay, args=(*p, auth_headers(p[0]))) for p in payments]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r["status"] for r in results) == ["booked", "refunded"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    winner = next(r for r in results if r["status"] == "booked")["booking"]
    seat = db.session.scalar(sa.select(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                           ShowtimeSeat.label == "J4"))
    assert seat.state == SeatState.BOOKED and seat.booking_id == winner["id"]


def test_cancellation_refunds_by_policy_and_frees_seats(sclient, sctx):
    buyer = make_user()
    showtime = make_showtime(starts_at=datetime.now(timezone.utc) + timedelta(hours=5))  # 50% tier
    lock(sclient, buyer, showtime.id, ["B1", "B2"])
    order = create_order(sclient, buyer, showtime.id, ["B1", "B2"])
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])
    booking = verify(sclient, buyer, order["gateway_order_id"], paid["razorpay_payment_id"],
                     paid["razorpay_signature"]).get_json()["booking"]
    other = make_user()
    assert sclient.post(f"/api/payments/bookings/{booking['id']}/cancel",
                        headers=auth_headers(other)).status_code == 404
    response = sclient.post(f"/api/payments/bookings/{booking['id']}/cancel", headers=auth_headers(buyer))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["booking"]["state"] == "cancelled" and body["refund_amount"] == order["amount"] // 2
    assert body["refund_state"] == "processed"
    assert seat_states(showtime.id)["B1"] == SeatState.AVAILABLE
    assert sclient.post(f"/api/payments/bookings/{booking['id']}/cancel",
                        headers=auth_headers(buyer)).get_json()["error"]["code"] == "booking_cancelled"
    assert sclient.get(f"/api/payments/bookings/{booking['id']}/ticket.pdf",
                       headers=auth_headers(buyer)).status_code == 404


def test_unpaid_orders_expire(sclient, sctx, shop):
    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["C9"])
    order = create_order(sclient, buyer, showtime.id, ["C9"])
    db.session.execute(sa.update(Order).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()
    shop.extensions["celery"].tasks["workers.payments.expire_orders"].apply()
    assert db.session.scalar(sa.select(Order.state).where(Order.public_id == order["order_id"])) \
        == OrderState.EXPIRED


def test_gateway_status_and_health(sclient, sctx):
    status = sclient.get("/api/payments/gateway-status").get_json()
    assert status["gateway"] == "dev" and status["key_id"] == KEY_ID
    assert KEY_SECRET not in json.dumps(status) and WEBHOOK_SECRET not in json.dumps(status)
    assert sclient.get("/api/payments/health").get_json()["status"] == "ok"


def _qr_codes(pdf_bytes: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [code.text for page in PdfReader(io.BytesIO(pdf_bytes)).pages for image in page.images
            for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))]


def _buy(client, user, showtime_id, seats):
    lock(client, user, showtime_id, seats)
    order = create_order(client, user, showtime_id, seats)
    paid = dev_pay(client, user, order["gateway_order_id"])
    body = verify(client, user, order["gateway_order_id"], paid["razorpay_payment_id"],
                  sign_payment(order["gateway_order_id"], paid["razorpay_payment_id"])).get_json()
    assert body["status"] == "booked", body
    return order, body["booking"]


def test_staff_check_in_scans_the_ticket_qr_once(sclient, sctx):
    buyer = make_user()
    usher = make_user(role=Role.ADMIN)
    showtime = make_showtime()
    _order, booking = _buy(sclient, buyer, showtime.id, ["C5"])
    pdf = sclient.get(f"/api/payments/bookings/{booking['id']}/ticket.pdf", headers=auth_headers(buyer))
    [payload] = _qr_codes(pdf.data)

    assert sclient.post("/api/admin/checkin", json={"payload": payload},
                        headers=auth_headers(buyer)).status_code == 403  # customers cannot admit themselves
    first = sclient.post("/api/admin/checkin", json={"payload": payload}, headers=auth_headers(usher))
    assert first.status_code == 200 and first.get_json()["reference"] == booking["reference"]
    assert first.get_json()["checked_in_at"]
    second = sclient.post("/api/admin/checkin", json={"payload": payload}, headers=auth_headers(usher))
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "already_checked_in"
    forged = payload.rsplit(".", 1)[0] + ".forgedsignature"
    refused = sclient.post("/api/admin/checkin", json={"payload": forged}, headers=auth_headers(usher))
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "invalid_ticket_code"


def test_cancelling_a_showtime_refunds_every_booking(sclient, sctx):
    first, second, waiting = make_user(), make_user(), make_user()
    admin = make_user(role=Role.ADMIN)
    showtime = make_showtime()
    first_order, _ = _buy(sclient, first, showtime.id, ["A1", "A2"])
    _buy(sclient, second, showtime.id, ["L9"])
    lock(sclient, waiting, showtime.id, ["B3"])
    open_order = create_order(sclient, waiting, showtime.id, ["B3"])

    response = sclient.post(f"/api/admin/showtimes/{showtime.id}/cancel", headers=auth_headers(admin))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["showtime"]["status"] == "cancelled"
    assert (body["bookings_cancelled"], body["refunds"], body["orders_expired"]) == (2, 2, 1)
    db.session.expire_all()
    refunds = db.session.scalars(sa.select(Refund).order_by(Refund.id)).all()
    assert [r.state for r in refunds] == [RefundState.PROCESSED] * 2
    assert refunds[0].amount == first_order["amount"] and refunds[0].reason == "showtime_cancelled"
    assert set(seat_states(showtime.id).values()) == {SeatState.AVAILABLE}
    # the buyer who was still paying gets a refund, never a booking, for the cancelled show
    paid = dev_pay(sclient, waiting, open_order["gateway_order_id"])
    late = verify(sclient, waiting, open_order["gateway_order_id"], paid["razorpay_payment_id"],
                  sign_payment(open_order["gateway_order_id"], paid["razorpay_payment_id"])).get_json()
    assert late["status"] == "refunded" and late["booking"] is None
    assert sclient.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["C1"]},
                        headers=auth_headers(waiting)).status_code == 409


def test_orders_expire_when_their_holds_lapse(app, tmp_path):
    """Holds extended over a (here, one-second) payment window lapse; the sweep frees the seats and
    expires the order waiting on them."""
    import time

    short = make_test_app(SEAT_LOCK_TTL_MS=1000, ORDER_PAYMENT_WINDOW_S=1, TICKETS_DIR=tmp_path,
                          RAZORPAY_KEY_ID=KEY_ID, RAZORPAY_KEY_SECRET=KEY_SECRET,
                          PAYMENTS_WEBHOOK_SECRET=WEBHOOK_SECRET)
    with short.app_context():
        client = short.test_client()
        buyer, next_buyer = make_user(), make_user()
        showtime = make_showtime()
        lock(client, buyer, showtime.id, ["D7", "D8"])
        order = create_order(client, buyer, showtime.id, ["D7", "D8"])
        refused = client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["D7"]},
                              headers=auth_headers(next_buyer))
        assert refused.status_code == 409
        time.sleep(1.3)
        swept = short.extensions["celery"].tasks["workers.holds.expire_holds"].apply().result
        assert swept["released"] == 2, swept
        db.session.expire_all()
        assert db.session.scalar(sa.select(Order.state).where(Order.public_id == order["order_id"])) \
            == OrderState.EXPIRED
        lock(client, next_buyer, showtime.id, ["D7"])  # free for the next buyer
        db.session.remove()
        db.engine.dispose()


def test_extending_never_shortens_a_hold(sclient, sctx):
    from app.services.seats import holds

    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["G3"])
    create_order(sclient, buyer, showtime.id, ["G3"])  # stretches the hold over the 600 s window
    for again in (lambda: holds.extend(showtime.id, buyer.id, ["G3"]),
                  lambda: holds.lock(showtime.id, buyer.id, ["G3"])):
        result = again()
        assert result.expires_at > datetime.now(timezone.utc) + timedelta(seconds=500)
    [hold] = holds.inspect(showtime.id, ["G3"])
    assert hold.ttl_ms > 500_000


def test_a_domain_error_in_the_webhook_worker_rolls_its_writes_back(sclient, sctx, monkeypatch):
    """The worker records a refusal on the event, but nothing the failed attempt wrote before the error."""
    from app.errors import Conflict
    from app.services import orders

    buyer = make_user()
    showtime = make_showtime()
    lock(sclient, buyer, showtime.id, ["K1"])
    order = create_order(sclient, buyer, showtime.id, ["K1"])
    paid = dev_pay(sclient, buyer, order["gateway_order_id"])

    def half_done(gateway_order_id, *args, **kwargs):
        db.session.execute(sa.update(Order).values(state=OrderState.PAID))  # a write, then a refusal
        raise Conflict("refused midway", code="order_state_conflict")

    monkeypatch.setattr(orders, "confirm_payment", half_done)
    body, headers = webhook_request("payment.captured", order["gateway_order_id"], paid["razorpay_payment_id"],
                                    order["amount"], "evt_half")
    assert sclient.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    db.session.expire_all()
    event = db.session.scalar(sa.select(WebhookEvent))
    assert event.processed_at is not None and event.result == "rejected:order_state_conflict"
    assert db.session.scalar(sa.select(Order.state)) == OrderState.CREATED


def test_a_row_locked_too_long_is_a_clear_busy_answer(sclient, sctx):
    """A request that waits for another transaction's row lock gives up after a few seconds with 503 `busy`
    and Retry-After, instead of queueing without end or saying the database is down."""
    buyer = make_user()
    _order, _paid, booking = book(sclient, buyer, make_showtime().id, ["K2"])
    headers = auth_headers(buyer)
    db.session.remove()
    with db.engine.connect() as other:
        other.execute(sa.text("SELECT id FROM bookings WHERE id = :id FOR UPDATE"), {"id": booking["id"]})
        answer = sclient.post(f"/api/payments/bookings/{booking['id']}/cancel", headers=headers)
        other.rollback()
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "busy"
    assert answer.headers["Retry-After"] == "1"
    assert sclient.post(f"/api/payments/bookings/{booking['id']}/cancel", headers=headers).status_code == 200
