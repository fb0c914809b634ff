"""Webhook intake: signature over the raw body, parsing, and storing each event exactly once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.errors import InvalidSignature, ValidationError, register_error_handlers
from app.extensions import db
from app.models import WebhookEvent
from app.services import webhooks
from app.services.payment_gateways import get_gateway
from app.services.payment_gateways.dev import DevGateway
from app.services.uow import transaction

SECRET = "whsec_intake_test_secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    """Razorpay's documented webhook signature: HMAC-SHA256 hex of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def captured_body(payment_id: str = "pay_Q1", order_id: str = "order_Q1", amount: int = 45000) -> bytes:
    event = {
        "entity": "event", "account_id": "acc_1", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": payment_id, "entity": "payment", "amount": amount,
                                           "currency": "INR", "status": "captured", "order_id": order_id}}},
        "created_at": 1767225600,
    }
    return json.dumps(event).encode()


@pytest.fixture()
def webhook_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app with a configured webhook secret (the gateway is rebuilt for it, and again afterwards)."""
    monkeypatch.setitem(app.config, "PAYMENTS_WEBHOOK_SECRET", SECRET)
    app.extensions.pop("payment_gateway", None)
    with app.app_context():
        yield app
        db.session.remove()
    app.extensions.pop("payment_gateway", None)


def count_events() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) or 0


def test_a_signed_event_is_stored(webhook_app: Flask) -> None:
    body = captured_body()
    with transaction():
        row, is_new = webhooks.receive(body, sign(body), "evt_A1")
    assert is_new is True
    db.session.expire_all()
    stored = db.session.get(WebhookEvent, row.id)
    assert stored is not None
    assert (stored.event_id, stored.event_type) == ("evt_A1", "payment.captured")
    assert stored.payload == json.loads(body)
    assert stored.processed_at is None and stored.result is None


def test_the_same_event_five_times_is_stored_once(webhook_app: Flask) -> None:
    body = captured_body()
    outcomes = []
    for _ in range(5):
        with transaction():
            row, is_new = webhooks.receive(body, sign(body), "evt_A2")
            outcomes.append((row.id, is_new))
    assert [new for _, new in outcomes] == [True, False, False, False, False]
    assert len({row_id for row_id, _ in outcomes}) == 1
    assert count_events() == 1


def test_same_event_id_with_another_body_is_still_a_duplicate(webhook_app: Flask) -> None:
    first, second = captured_body(amount=45000), captured_body(amount=1)
    with transaction():
        webhooks.receive(first, sign(first), "evt_A3")
    with transaction():
        row, is_new = webhooks.receive(second, sign(second), "evt_A3")
    assert is_new is False and row.payload["payload"]["payment"]["entity"]["amount"] == 45000


@pytest.mark.parametrize("signature", [
    None, "", "   ", "deadbeef", "0" * 64, "é" * 64,
    sign(captured_body(), "another-secret"),
    sign(captured_body(amount=1)),  # signed another body
])
def test_bad_or_missing_signatures_store_nothing(webhook_app: Flask, signature: str | None) -> None:
    with pytest.raises(InvalidSignature) as info:
        with transaction():
            webhooks.receive(captured_body(), signature, "evt_bad")
    assert (info.value.status, info.value.code) == (400, "invalid_signature")
    assert count_events() == 0


def test_signature_is_checked_before_the_body_is_parsed(webhook_app: Flask) -> None:
    with pytest.raises(InvalidSignature):
        webhooks.receive(b"not json", "0" * 64, "evt_x")
    deep = b"[" * 5000 + b"]" * 5000  # RecursionError in the parser, not a JSONDecodeError
    surrogate = b'{"event": "payment.captured", "payload": {}, "note": "\\ud800"}'  # cannot be stored
    for body in [b"not json", b"[1, 2]", b'{"payload": {}}', b'{"event": "", "payload": {}}',
                 b'{"event": "payment.captured", "payload": []}', b"\xff\xfe", deep, surrogate]:
        with pytest.raises(ValidationError) as info:
            webhooks.receive(body, sign(body), "evt_x")
        assert info.value.code == "invalid_webhook"
    assert count_events() == 0


def test_event_id_header_is_validated_and_derived_when_missing(webhook_app: Flask) -> None:
    body = captured_body()
    with pytest.raises(ValidationError):
        webhooks.receive(body, sign(body), "evt with spaces")
    with pytest.raises(ValidationError):
        webhooks.receive(body, sign(body), "e" * 65)
    with transaction():
        row, is_new = webhooks.receive(body, sign(body), None)
    assert is_new and row.event_id.startswith("sha256_") and len(row.event_id) == 64
    with transaction():
        again, is_new = webhooks.receive(body, sign(body), "")
    assert not is_new and again.id == row.id


def test_concurrent_deliveries_store_one_row(webhook_app: Flask) -> None:
    body = captured_body(payment_id="pay_race")
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        with webhook_app.app_context():
            try:
                barrier.wait()
                with transaction():
                    _, is_new = webhooks.receive(body, sign(body), "evt_race")
                results.append(is_new)
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    assert count_events() == 1


def test_a_rolled_back_delivery_leaves_the_event_new(webhook_app: Flask) -> None:
    body = captured_body()
    with pytest.raises(RuntimeError):
        with transaction():
            webhooks.receive(body, sign(body), "evt_rollback")
            raise RuntimeError("the enqueue failed")
    with transaction():
        _, is_new = webhooks.receive(body, sign(body), "evt_rollback")
    assert is_new


def test_without_a_secret_the_razorpay_gateway_refuses_webhooks(app: Flask, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    for key, value in {"PAYMENT_GATEWAY": "razorpay", "RAZORPAY_KEY_ID": "rzp_test_k",
                       "RAZORPAY_KEY_SECRET": "s3cret", "PAYMENTS_WEBHOOK_SECRET": None}.items():
        monkeypatch.setitem(app.config, key, value)
    app.extensions.pop("payment_gateway", None)
    try:
        with app.app_context():
            body = captured_body()
            for signature in [sign(body, ""), sign(body, "s3cret"), sign(body, "None")]:
                with pytest.raises(InvalidSignature):
                    webhooks.verify_signature(body, signature)
    finally:
        app.extensions.pop("payment_gateway", None)


def test_dev_checkout_webhooks_are_accepted(ctx: Flask) -> None:
    """The dev gateway's signed deliveries pass the same intake (generated secret, no configuration)."""
    ctx.extensions.pop("payment_gateway", None)
    gateway = get_gateway()
    assert isinstance(gateway, DevGateway)
    order_id = gateway.create_order(45000, "INR", "CV-W1")
    payment_id = gateway.simulate_payment(order_id)["razorpay_payment_id"]
    body, headers = gateway.webhook_delivery("payment.captured", order_id, payment_id)
    with transaction():
        row, is_new = webhooks.receive(body, headers[webhooks.SIGNATURE_HEADER], headers[webhooks.EVENT_ID_HEADER])
    assert is_new and row.event_type == "payment.captured"
    refs = webhooks.event_refs(row.payload)
    assert (refs.gateway_order_id, refs.gateway_payment_id, refs.amount) == (order_id, payment_id, 45000)


def test_event_refs_of_razorpay_events() -> None:
    captured = webhooks.event_refs(json.loads(captured_body()))
    assert captured == webhooks.EventRefs(event="payment.captured", gateway_order_id="order_Q1",
                                          gateway_payment_id="pay_Q1", amount=45000, currency="INR",
                                          payment_status="captured")
    order_paid: dict[str, Any] = {"event": "order.paid", "payload": {
        "payment": {"entity": {"id": "pay_Z", "order_id": "order_Z", "amount": 500, "currency": "INR",
                               "status": "captured"}},
        "order": {"entity": {"id": "order_Z", "amount_paid": 500, "currency": "INR", "status": "paid"}}}}
    assert webhooks.event_refs(order_paid).gateway_order_id == "order_Z"
    only_order = {"event": "order.paid", "payload": {"order": {"entity": {"id": "order_Y", "amount_paid": 900}}}}
    refs = webhooks.event_refs(only_order)
    assert (refs.gateway_order_id, refs.gateway_payment_id, refs.amount) == ("order_Y", None, 900)
    empty = webhooks.event_refs({"event": "refund.created", "payload": {"payment": "odd"}})
    assert (empty.gateway_order_id, empty.gateway_payment_id, empty.amount) == (None, None, None)


def test_invalid_signature_maps_to_400() -> None:
    app = Flask("errors-probe")
    register_error_handlers(app)

    @app.post("/hook")
    def hook() -> str:
        raise InvalidSignature()

    response = app.test_client().post("/hook")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize("bad_id", ["pay\u0000x", "p" * 65, "pay Q1", "", 17, None])
def test_ids_no_gateway_makes_never_reach_a_query(bad_id: Any) -> None:
    """A signed event naming a malformed id cannot be about one of our orders: its refs leave it out."""
    event = json.loads(captured_body())
    entity = event["payload"]["payment"]["entity"]
    entity["id"] = bad_id
    assert webhooks.event_refs(event).gateway_payment_id is None
    entity["id"], entity["order_id"] = "pay_Q1", bad_id
    assert webhooks.event_refs(event).gateway_order_id is None
    assert webhooks.event_refs(json.loads(captured_body())).gateway_payment_id == "pay_Q1"
