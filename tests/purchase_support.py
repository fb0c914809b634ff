"""Shared by the purchase tests: the gateway secrets the tests sign with (the documented HMAC, never the
project's code) and the steps of a purchase through the API. The app configured with those secrets is
the `shop` fixture of tests/api/conftest.py."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.factories import auth_headers

KEY_ID = "rzp_test_cineverse"
KEY_SECRET = "test-razorpay-key-secret-0123456789"
WEBHOOK_SECRET = "test-webhook-secret-abcdefghij"


def sign_payment(order_id: str, payment_id: str) -> str:
    return hmac.new(KEY_SECRET.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def webhook_request(event: str, order_id: str, payment_id: str, amount: int, event_id: str,
                    secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({
        "entity": "event", "event": event, "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": payment_id, "entity": "payment", "amount": amount,
                                           "currency": "INR", "order_id": order_id,
                                           "status": "failed" if event == "payment.failed" else "captured"}}},
    }).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": event_id,
                  "Content-Type": "application/json"}


def lock(client, user, showtime_id, seats):
    response = client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": seats},
                           headers=auth_headers(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def create_order(client, user, showtime_id, seats):
    response = client.post("/api/payments/create-order", json={"showtime_id": showtime_id, "seat_ids": seats},
                           headers=auth_headers(user))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def dev_pay(client, user, gateway_order_id, outcome="success"):
    response = client.post("/api/payments/dev/checkout", json={"razorpay_order_id": gateway_order_id,
                                                                "outcome": outcome}, headers=auth_headers(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def verify(client, user, order_id, payment_id, signature, headers=None):
    return client.post("/api/payments/verify", headers=headers or auth_headers(user), json={
        "razorpay_order_id": order_id, "razorpay_payment_id": payment_id, "razorpay_signature": signature})


def book(client, user, showtime_id, seats):
    """A whole purchase through the API and the dev gateway: (order, dev checkout result, booking)."""
    lock(client, user, showtime_id, seats)
    order = create_order(client, user, showtime_id, seats)
    paid = dev_pay(client, user, order["gateway_order_id"])
    body = verify(client, user, order["gateway_order_id"], paid["razorpay_payment_id"],
                  paid["razorpay_signature"]).get_json()
    assert body["status"] == "booked", body
    return order, paid, body["booking"]


def lose_seat_locks(redis_client, showtime_id: int) -> None:
    """Redis loses every seat-lock key of the showtime (not the dev gateway's records)."""
    for key in redis_client.scan_iter(match=f"*{{st:{showtime_id}}}*"):
        redis_client.delete(key)
