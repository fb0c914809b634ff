"""Payment gateways: the real razorpay SDK against a fake Razorpay API on loopback, and the dev gateway.

Signatures are made here with the documented HMAC (and checked with the SDK's own utility), never with
the project's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import razorpay
import razorpay.errors

from app.errors import Conflict, InvalidSignature, NotFound, PaymentError, ServiceUnavailable, ValidationError
from app.services.payment_gateways import RazorpayGateway, build_gateway, gateway_status, get_gateway
from app.services.payment_gateways.dev import DevGateway

KEY_ID = "rzp_test_abc123"
KEY_SECRET = "test_key_secret_0123456789"
WEBHOOK_SECRET = "whsec_test_987654321"


def razorpay_signature(secret: str, order_id: str, payment_id: str) -> str:
    """Razorpay's documented checkout signature."""
    return hmac.new(secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def webhook_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeRazorpay:
    """A tiny stand-in for api.razorpay.com: records requests and answers from a queue."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses: list[tuple[int, Any]] = []
        # called with each request before it is answered (a test's probe of what the app holds meanwhile)
        self.on_request: Any = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.do_POST(method="GET")

            def do_POST(self, method: str = "POST") -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                fake.requests.append({
                    "method": method, "path": self.path, "headers": dict(self.headers),
                    "json": json.loads(raw) if raw else None,
                })
                if fake.on_request is not None:
                    fake.on_request(fake.requests[-1])
                status, body = fake.responses.pop(0) if fake.responses else (500, {"error": {}})
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def payment(self, payment_id: str, order_id: str, amount: int, status: str = "captured") -> None:
        """Queue the answer to a payment fetch (GET /v1/payments/<id>)."""
        self.responses.append((200, {"id": payment_id, "entity": "payment", "order_id": order_id,
                                     "amount": amount, "currency": "INR", "status": status}))

    def __enter__(self) -> FakeRazorpay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake_razorpay() -> Iterator[FakeRazorpay]:
    with FakeRazorpay() as fake:
        yield fake


@pytest.fixture()
def rzp(fake_razorpay: FakeRazorpay) -> Iterator[RazorpayGateway]:
    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, webhook_secret=WEBHOOK_SECRET, base_url=fake_razorpay.url)
    yield gateway
    gateway.client.session.close()


def basic_auth(headers: dict[str, str]) -> str:
    value = headers["Authorization"]
    assert value.startswith("Basic ")
    return base64.b64decode(value[6:]).decode()


# --- Razorpay gateway through the real SDK ---------------------------------------------------------

def test_razorpay_create_order_posts_to_orders_api(rzp: RazorpayGateway, fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.responses.append((200, {"id": "order_Abc123", "entity": "order", "amount": 45000,
                                          "currency": "INR", "receipt": "CV-1", "status": "created"}))
    order_id = rzp.create_order(45000, "INR", "CV-1", {"showtime_id": 7, "seats": "A1,A2"})
    assert order_id == "order_Abc123"
    [request] = fake_razorpay.requests
    assert request["path"] == "/v1/orders"
    assert basic_auth(request["headers"]) == f"{KEY_ID}:{KEY_SECRET}"
    assert request["json"] == {"amount": 45000, "currency": "INR", "receipt": "CV-1",
                               "notes": {"showtime_id": "7", "seats": "A1,A2"}}
    assert request["headers"]["User-Agent"].startswith("Razorpay-Python/")


def test_razorpay_refund_posts_to_payment_refund_with_an_idempotency_key(rzp: RazorpayGateway,
                                                                           fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.responses.append((200, {"id": "rfnd_Xyz", "entity": "refund", "amount": 20000,
                                          "status": "processed", "notes": {"cineverse_refund": "rk-1"}}))
    refund = rzp.refund("pay_Q1", 20000, key="rk-1", notes={"reason": "seats_unavailable"})
    assert (refund.id, refund.amount, refund.key) == ("rfnd_Xyz", 20000, "rk-1")
    [request] = fake_razorpay.requests
    assert request["path"] == "/v1/payments/pay_Q1/refund"
    assert request["headers"]["X-Refund-Idempotency"] == "rk-1"
    assert request["json"] == {"amount": 20000, "notes": {"reason": "seats_unavailable", "cineverse_refund": "rk-1"}}


def test_razorpay_full_refund_sends_no_amount(rzp: RazorpayGateway, fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.responses.append((200, {"id": "rfnd_Full"}))
    assert rzp.refund("pay_Q2", None, key="rk-2").id == "rfnd_Full"
    assert fake_razorpay.requests[0]["json"] == {"notes": {"cineverse_refund": "rk-2"}}


def test_razorpay_refund_lookup_finds_ours_by_key(rzp: RazorpayGateway, fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.responses.append((200, {"entity": "collection", "count": 2, "items": [
        {"id": "rfnd_Other", "amount": 100, "status": "processed", "notes": {}},
        {"id": "rfnd_Ours", "amount": 20000, "status": "processed", "notes": {"cineverse_refund": "rk-3"}},
    ]}))
    found = rzp.find_refund("pay_Q4", "rk-3")
    assert found is not None and found.id == "rfnd_Ours"
    [request] = fake_razorpay.requests
    assert request["method"] == "GET" and request["path"].startswith("/v1/payments/pay_Q4/refunds")


def test_razorpay_fetch_and_capture_payment(rzp: RazorpayGateway, fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.responses.append((200, {"id": "pay_Q5", "order_id": "order_A", "amount": 45000, "currency": "INR",
                                          "status": "authorized"}))
    fake_razorpay.responses.append((200, {"id": "pay_Q5", "order_id": "order_A", "amount": 45000, "currency": "INR",
                                          "status": "captured"}))
    paid = rzp.fetch_payment("pay_Q5")
    assert (paid.order_id, paid.amount, paid.currency, paid.status) == ("order_A", 45000, "INR", "authorized")
    assert rzp.capture_payment("pay_Q5", 45000, "INR").status == "captured"
    fetch, capture = fake_razorpay.requests
    assert fetch["method"] == "GET" and fetch["path"] == "/v1/payments/pay_Q5"
    assert capture["path"] == "/v1/payments/pay_Q5/capture"
    assert capture["json"] == {"amount": 45000, "currency": "INR"}


def test_razorpay_bad_request_becomes_payment_error(rzp: RazorpayGateway, fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.responses.append((400, {"error": {"code": "BAD_REQUEST_ERROR",
                                                    "description": "The amount must be at least INR 1.00"}}))
    with pytest.raises(PaymentError) as info:
        rzp.create_order(45000, "INR", "CV-2")
    assert info.value.code == "gateway_rejected"
    assert "at least INR 1.00" in info.value.message


@pytest.mark.parametrize("status,body", [
    (500, {"error": {"code": "SERVER_ERROR", "description": "boom"}}),
    (502, {"error": {"code": "GATEWAY_ERROR", "description": "upstream"}}),
    (503, b"<html>proxy error</html>"),
])
def test_razorpay_server_failures_become_unavailable(rzp: RazorpayGateway, fake_razorpay: FakeRazorpay,
                                                     status: int, body: Any) -> None:
    fake_razorpay.responses.append((status, body))
    with pytest.raises(ServiceUnavailable) as info:
        rzp.refund("pay_Q3", 100, key="rk-4")
    assert info.value.code == "gateway_unavailable"


def test_razorpay_unreachable_becomes_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ServiceUnavailable):
        gateway.create_order(45000, "INR", "CV-3")
    gateway.client.session.close()


def test_razorpay_order_arguments_are_validated_before_any_call(rzp: RazorpayGateway,
                                                                fake_razorpay: FakeRazorpay) -> None:
    for args in [(0, "INR", "r"), (99, "INR", "r"), (45000.0, "INR", "r"), (True, "INR", "r"),
                 (45000, "inr", "r"), (45000, "INR", ""), (45000, "INR", "x" * 41)]:
        with pytest.raises(ValidationError):
            rzp.create_order(*args)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        rzp.refund("pay_1", 0, key="rk-5")
    assert fake_razorpay.requests == []


def test_razorpay_payment_signature_matches_documented_hmac(rzp: RazorpayGateway) -> None:
    signature = razorpay_signature(KEY_SECRET, "order_A", "pay_B")
    rzp.verify_payment_signature("order_A", "pay_B", signature)  # no error
    rzp.verify_payment_signature("order_A", "pay_B", f" {signature}\n")  # surrounding whitespace tolerated


@pytest.mark.parametrize("order_id,payment_id,signature", [
    ("order_A", "pay_B", None),
    ("order_A", "pay_B", ""),
    ("order_A", "pay_B", "   "),
    ("order_A", "pay_B", "0" * 64),
    ("order_A", "pay_C", "SIG"),           # signed for another payment
    ("order_X", "pay_B", "SIG"),           # signed for another order
    ("order_A", "pay_B", "SIG-wrong-key"),
    ("order_A", "pay_B", "é" * 64),        # non-ASCII never reaches compare_digest's TypeError
    ("", "pay_B", "SIG"),
    ("order_A", None, "SIG"),
])
def test_razorpay_payment_signature_refusals(rzp: RazorpayGateway, order_id: Any, payment_id: Any,
                                             signature: Any) -> None:
    if signature == "SIG":
        signature = razorpay_signature(KEY_SECRET, "order_A", "pay_B")
    elif signature == "SIG-wrong-key":
        signature = razorpay_signature("another-secret", "order_A", "pay_B")
    with pytest.raises(InvalidSignature) as info:
        rzp.verify_payment_signature(order_id, payment_id, signature)
    assert info.value.code == "invalid_signature" and info.value.status == 400


def test_razorpay_webhook_signature(rzp: RazorpayGateway) -> None:
    body = b'{"event":"payment.captured","payload":{}}'
    rzp.verify_webhook_signature(body, webhook_signature(WEBHOOK_SECRET, body))
    for bad in [None, "", webhook_signature(WEBHOOK_SECRET, body + b" "), webhook_signature(KEY_SECRET, body)]:
        with pytest.raises(InvalidSignature):
            rzp.verify_webhook_signature(body, bad)


def test_razorpay_without_webhook_secret_refuses_every_webhook(fake_razorpay: FakeRazorpay) -> None:
    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, base_url=fake_razorpay.url)
    body = b"{}"
    with pytest.raises(InvalidSignature):
        gateway.verify_webhook_signature(body, webhook_signature("", body))
    assert gateway.status()["webhook_secret_configured"] is False
    gateway.client.session.close()


def test_razorpay_status_has_no_secret(rzp: RazorpayGateway) -> None:
    status = rzp.status()
    assert status == {"gateway": "razorpay", "key_id": KEY_ID, "mode": "test", "webhook_secret_configured": True}
    assert KEY_SECRET not in json.dumps(status) and WEBHOOK_SECRET not in json.dumps(status)
    live = RazorpayGateway("rzp_live_xyz", KEY_SECRET)
    assert live.status()["mode"] == "live"
    live.client.session.close()


# --- dev gateway ------------------------------------------------------------------------------------

@pytest.fixture()
def dev(ctx: Any, redis_client: Any) -> DevGateway:
    return DevGateway(redis_client, prefix="paytest")


def test_dev_order_ids_and_storage(dev: DevGateway) -> None:
    first = dev.create_order(45000, "INR", "CV-10", {"order": 1})
    second = dev.create_order(45000, "INR", "CV-11")
    assert first.startswith("order_dev_") and second.startswith("order_dev_") and first != second
    assert dev.get_order(first) == {"id": first, "amount": 45000, "currency": "INR", "receipt": "CV-10",
                                    "status": "created", "notes": {"order": "1"}}
    with pytest.raises(ValidationError):
        dev.create_order(50, "INR", "CV-12")
    with pytest.raises(NotFound):
        dev.get_order("order_dev_unknown")


def test_dev_payment_with_configured_secret_verifies_with_razorpay_sdk(redis_client: Any, ctx: Any) -> None:
    dev = DevGateway(redis_client, key_id=KEY_ID, key_secret=KEY_SECRET, prefix="paytest")
    order_id = dev.create_order(30000, "INR", "CV-20")
    result = dev.simulate_payment(order_id)
    assert set(result) == {"razorpay_order_id", "razorpay_payment_id", "razorpay_signature"}
    assert result["razorpay_order_id"] == order_id
    assert result["razorpay_payment_id"].startswith("pay_dev_")
    # The official SDK, holding the same secret, accepts the dev signature: it is Razorpay's scheme.
    assert razorpay.Client(auth=(KEY_ID, KEY_SECRET)).utility.verify_payment_signature(result) is True
    assert result["razorpay_signature"] == razorpay_signature(KEY_SECRET, order_id, result["razorpay_payment_id"])
    dev.verify_payment_signature(order_id, result["razorpay_payment_id"], result["razorpay_signature"])
    # The Razorpay gateway with the same keys verifies it too: one verification path for both.
    rzp = RazorpayGateway(KEY_ID, KEY_SECRET)
    rzp.verify_payment_signature(order_id, result["razorpay_payment_id"], result["razorpay_signature"])
    rzp.client.session.close()


def test_dev_generated_secret_is_shared_by_every_process(redis_client: Any, ctx: Any) -> None:
    web = DevGateway(redis_client, prefix="paytest")
    worker = DevGateway(redis_client, prefix="paytest")  # another process: same Redis, no shared memory
    order_id = web.create_order(30000, "INR", "CV-21")
    result = web.simulate_payment(order_id)
    worker.verify_payment_signature(order_id, result["razorpay_payment_id"], result["razorpay_signature"])
    # The secret is not a well-known value: the SDK with an empty or default secret refuses the signature.
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        razorpay.Client(auth=(DevGateway.DEFAULT_KEY_ID, "")).utility.verify_payment_signature(result)
    # Another deployment (another Redis namespace) has another secret.
    other = DevGateway(redis_client, prefix="another-deployment")
    with pytest.raises(InvalidSignature):
        other.verify_payment_signature(order_id, result["razorpay_payment_id"], result["razorpay_signature"])


def test_dev_signature_refusals(dev: DevGateway) -> None:
    order_id = dev.create_order(30000, "INR", "CV-22")
    result = dev.simulate_payment(order_id)
    payment_id, signature = result["razorpay_payment_id"], result["razorpay_signature"]
    for args in [(order_id, payment_id, None), (order_id, payment_id, ""), (order_id, "pay_dev_other", signature),
                 ("order_dev_other", payment_id, signature), (order_id, payment_id, signature[:-1] + "0"
                                                               if signature[-1] != "0" else signature[:-1] + "1"),
                 (order_id, payment_id, signature.upper())]:
        with pytest.raises(InvalidSignature):
            dev.verify_payment_signature(*args)


def test_dev_failed_payment_has_no_valid_signature(dev: DevGateway) -> None:
    order_id = dev.create_order(30000, "INR", "CV-23")
    result = dev.simulate_payment(order_id, outcome="failure")
    assert result["razorpay_signature"] == ""
    assert result["error"]["reason"] == "payment_failed"
    with pytest.raises(InvalidSignature):
        dev.verify_payment_signature(order_id, result["razorpay_payment_id"], result["razorpay_signature"])
    assert dev.get_payment(result["razorpay_payment_id"])["status"] == "failed"
    # A failed attempt leaves the order payable, as on Razorpay.
    paid = dev.simulate_payment(order_id)
    dev.verify_payment_signature(order_id, paid["razorpay_payment_id"], paid["razorpay_signature"])
    with pytest.raises(Conflict):
        dev.simulate_payment(order_id)
    with pytest.raises(NotFound):
        dev.simulate_payment("order_dev_missing")
    with pytest.raises(ValidationError):
        dev.simulate_payment(order_id, outcome="maybe")


def test_dev_refunds_never_exceed_the_payment(dev: DevGateway) -> None:
    order_id = dev.create_order(30000, "INR", "CV-24")
    payment_id = dev.simulate_payment(order_id)["razorpay_payment_id"]
    first = dev.refund(payment_id, 10000, key="k1")
    assert first.id.startswith("rfnd_dev_")
    with pytest.raises(PaymentError):
        dev.refund(payment_id, 20001, key="k2")
    second = dev.refund(payment_id, None, key="k3")  # the rest
    assert second.id.startswith("rfnd_dev_") and second.id != first.id and second.amount == 20000
    assert dev.get_payment(payment_id)["refunded"] == 30000
    assert dev.get_payment(payment_id)["status"] == "refunded"
    with pytest.raises(PaymentError):
        dev.refund(payment_id, 1, key="k4")
    with pytest.raises(NotFound):
        dev.refund("pay_dev_missing", None, key="k5")
    failed = dev.simulate_payment(dev.create_order(30000, "INR", "CV-25"), outcome="failure")
    with pytest.raises(PaymentError):
        dev.refund(failed["razorpay_payment_id"], None, key="k6")
    assert {r.key for r in dev.refunds_of(payment_id)} == {"k1", "k3"}


def test_dev_refund_with_a_used_key_answers_the_same_refund(dev: DevGateway) -> None:
    payment_id = dev.simulate_payment(dev.create_order(30000, "INR", "CV-28"))["razorpay_payment_id"]
    first = dev.refund(payment_id, 15000, key="same")
    assert dev.refund(payment_id, 15000, key="same") == first
    assert dev.get_payment(payment_id)["refunded"] == 15000


def test_dev_concurrent_refunds_refund_at_most_once(dev: DevGateway) -> None:
    order_id = dev.create_order(30000, "INR", "CV-26")
    payment_id = dev.simulate_payment(order_id)["razorpay_payment_id"]
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            outcomes.append(dev.refund(payment_id, None, key=f"key-{n}").id)
        except PaymentError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o == "refused" for o in outcomes) == [False] + [True] * 5
    assert dev.get_payment(payment_id)["refunded"] == 30000


def test_dev_authorized_payment_is_captured_once(dev: DevGateway) -> None:
    order_id = dev.create_order(30000, "INR", "CV-29")
    payment_id = dev.simulate_payment(order_id, outcome="authorized")["razorpay_payment_id"]
    assert dev.fetch_payment(payment_id).status == "authorized"
    with pytest.raises(PaymentError):
        dev.refund(payment_id, None, key="early")  # nothing was taken yet
    assert dev.capture_payment(payment_id, 30000, "INR").status == "captured"
    with pytest.raises(PaymentError):
        dev.capture_payment(payment_id, 30000, "INR")


def test_dev_webhooks_signed_with_configured_secret(redis_client: Any, ctx: Any) -> None:
    dev = DevGateway(redis_client, webhook_secret=WEBHOOK_SECRET, prefix="paytest")
    order_id = dev.create_order(30000, "INR", "CV-27")
    payment_id = dev.simulate_payment(order_id)["razorpay_payment_id"]
    body, headers = dev.webhook_delivery("payment.captured", order_id, payment_id, event_id="evt_1")
    assert headers["X-Razorpay-Event-Id"] == "evt_1"
    assert headers["X-Razorpay-Signature"] == webhook_signature(WEBHOOK_SECRET, body)
    # the SDK's webhook utility agrees
    assert razorpay.Client(auth=(KEY_ID, KEY_SECRET)).utility.verify_webhook_signature(
        body.decode(), headers["X-Razorpay-Signature"], WEBHOOK_SECRET)
    event = json.loads(body)
    assert event["event"] == "payment.captured"
    entity = event["payload"]["payment"]["entity"]
    assert entity == entity | {"id": payment_id, "order_id": order_id, "amount": 30000, "status": "captured"}
    dev.verify_webhook_signature(body, headers["X-Razorpay-Signature"])
    with pytest.raises(InvalidSignature):
        dev.verify_webhook_signature(body.replace(b"30000", b"1"), headers["X-Razorpay-Signature"])
    with pytest.raises(InvalidSignature):
        dev.verify_webhook_signature(body, None)


def test_dev_webhooks_with_generated_secret(dev: DevGateway, redis_client: Any) -> None:
    order_id = dev.create_order(30000, "INR", "CV-28")
    result = dev.simulate_payment(order_id, outcome="failure")
    body, headers = dev.webhook_delivery("payment.failed", order_id, result["razorpay_payment_id"])
    assert headers["X-Razorpay-Event-Id"].startswith("evt_dev_")
    assert json.loads(body)["payload"]["payment"]["entity"]["status"] == "failed"
    DevGateway(redis_client, prefix="paytest").verify_webhook_signature(body, headers["X-Razorpay-Signature"])
    with pytest.raises(InvalidSignature):
        DevGateway(redis_client, prefix="elsewhere").verify_webhook_signature(body, headers["X-Razorpay-Signature"])
    order_paid, _ = dev.webhook_delivery("order.paid", order_id, result["razorpay_payment_id"])
    assert json.loads(order_paid)["payload"]["order"]["entity"]["status"] == "paid"
    with pytest.raises(ValidationError):
        dev.webhook_delivery("refund.created", order_id)
    assert dev.status()["webhook_secret_configured"] is False
    assert dev.status()["webhook_secret_source"] == "generated"


# --- choosing the gateway from config -------------------------------------------------------------------

def test_default_gateway_is_dev_and_status_is_public(ctx: Any) -> None:
    assert isinstance(get_gateway(), DevGateway)
    assert get_gateway() is get_gateway()
    status = gateway_status()
    assert status["gateway"] == "dev" and status["mode"] == "dev"
    assert status["key_id"] == DevGateway.DEFAULT_KEY_ID
    assert set(status) == {"gateway", "key_id", "mode", "webhook_secret_configured", "webhook_secret_source",
                           "key_secret_source"}


def test_razorpay_chosen_from_config(ctx: Any, fake_razorpay: FakeRazorpay) -> None:
    from flask import Flask

    app = Flask("gateway-config")
    app.config.update(PAYMENT_GATEWAY="razorpay", RAZORPAY_KEY_ID=KEY_ID, RAZORPAY_KEY_SECRET=KEY_SECRET,
                      PAYMENTS_WEBHOOK_SECRET=WEBHOOK_SECRET, RAZORPAY_API_BASE_URL=fake_razorpay.url)
    gateway = build_gateway(app)
    assert isinstance(gateway, RazorpayGateway)
    fake_razorpay.responses.append((200, {"id": "order_FromConfig"}))
    assert gateway.create_order(10000, "INR", "CV-30") == "order_FromConfig"
    assert gateway.status() == {"gateway": "razorpay", "key_id": KEY_ID, "mode": "test",
                                "webhook_secret_configured": True}
    gateway.client.session.close()
