"""Fixtures of the API tests that buy tickets: an app with the gateway secrets of tests.purchase_support."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.conftest import make_test_app
from tests.purchase_support import KEY_ID, KEY_SECRET, WEBHOOK_SECRET
from tests.services.test_gateways import FakeRazorpay


@pytest.fixture(scope="module")
def shop(app, tmp_path_factory):
    """The app with known gateway secrets, so the tests can sign as Razorpay does."""
    shop_app = make_test_app(RAZORPAY_KEY_ID=KEY_ID, RAZORPAY_KEY_SECRET=KEY_SECRET,
                             PAYMENTS_WEBHOOK_SECRET=WEBHOOK_SECRET,
                             TICKETS_DIR=tmp_path_factory.mktemp("tickets"))
    yield shop_app
    with shop_app.app_context():
        db.engine.dispose()


@pytest.fixture()
def sctx(shop):
    with shop.app_context():
        yield shop
        db.session.remove()


@pytest.fixture()
def sclient(shop, sctx):
    return shop.test_client()


@pytest.fixture()
def razorpay_shop(app, tmp_path):
    """The app with PAYMENT_GATEWAY=razorpay, its SDK talking to a Razorpay stand-in on loopback."""
    with FakeRazorpay() as fake:
        shop = make_test_app(PAYMENT_GATEWAY="razorpay", RAZORPAY_KEY_ID=KEY_ID, RAZORPAY_KEY_SECRET=KEY_SECRET,
                             PAYMENTS_WEBHOOK_SECRET="whsec", RAZORPAY_API_BASE_URL=fake.url, TICKETS_DIR=tmp_path)
        with shop.app_context():
            yield shop, fake
            db.session.remove()
            db.engine.dispose()
