"""The staff area (/admin) in headless Chromium against the real app (gunicorn, test PostgreSQL + Redis).

A booking is bought through the API; a staff member signs in through the UI, finds it in the sales
report, the occupancy report and the showtime's sales, admits its ticket code once (the second scan is
refused), cancels an empty showtime, creates and deactivates a promo code and suspends a customer.
A customer who opens /admin is told it is for staff only; a superadmin changes roles. A refund the
gateway refuses is listed under Refunds, retried once the gateway accepts it, and shown processed.
Fixtures: tests/e2e/conftest.py.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from itsdangerous import Signer

from app.extensions import db
from app.models import Order, OrderState, Payment, Role
from app.services.payment_gateways import get_gateway
from app.services.payment_gateways.dev import DevGateway
from tests.e2e.browser_support import PASSWORD, sign_in
from tests.factories import make_movie, make_showtime, make_user

pytestmark = pytest.mark.browser


def _rupees(paise: int) -> str:
    """How the UI prints whole-rupee amounts under a lakh (en-IN)."""
    assert paise % 100 == 0 and paise < 10_000_000
    return f"₹{paise // 100:,}"


def _checkin_code(secret_key: str, reference: str) -> str:
    """A ticket's QR text as the documented scheme builds it (CV1. + the signed reference)."""
    signer = Signer(secret_key, salt="cineverse.ticket-checkin", digest_method=hashlib.sha256)
    return "CV1." + signer.sign(reference.encode()).decode("ascii")


def _buy(server: str, email: str, showtime_id: int, seats: list[str]) -> dict[str, Any]:
    """A purchase through the public API with the dev gateway; returns the booking."""
    http = requests.Session()

    def post(path: str, body: dict[str, Any], expected: int = 200) -> dict[str, Any]:
        response = http.post(server + path, json=body, timeout=30)
        assert response.status_code == expected, (path, response.status_code, response.text)
        return response.json()

    tokens = post("/api/user/login", {"email": email, "password": PASSWORD})
    http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    post(f"/api/showtimes/{showtime_id}/redis-lock-seats", {"seat_ids": seats})
    order = post("/api/payments/create-order", {"showtime_id": showtime_id, "seat_ids": seats}, expected=201)
    paid = post("/api/payments/dev/checkout", {"razorpay_order_id": order["gateway_order_id"]})
    result = post("/api/payments/verify", {key: paid[key] for key in
                                           ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature")})
    assert result["status"] == "booked", result
    return result["booking"]


def test_staff_area(app: Flask, server: str, server_secret_key: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        movie = make_movie(title="Midnight Ledger")
        showtime = make_showtime(movie=movie, city="Chennai", theatre_name="Lotus Screens")
        empty = make_showtime(movie=make_movie(title="Paper Kites"), city="Chennai", theatre_name="Lotus Screens",
                              starts_at=datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2))
        usher = make_user(role=Role.ADMIN, email="usher@example.com", name="Uma Usher", password=PASSWORD)
        make_user(email="bina@example.com", name="Bina Buyer", password=PASSWORD)
        make_user(email="otto@example.com", name="Otto Other", password=PASSWORD)
        make_user(email="pat@example.com", name="Pat Plain", password=PASSWORD)
        showtime_id, empty_id, usher_email = showtime.id, empty.id, usher.email

    booking = _buy(server, "bina@example.com", showtime_id, ["C5", "C6"])
    amount, reference = booking["amount"], booking["reference"]
    code = _checkin_code(server_secret_key, reference)

    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    plain_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff_ctx.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        # /admin asks for a sign-in first, then opens on the sales report
        page.goto(server + "/admin")
        expect(page).to_have_url(re.compile(r"/signin\?next=%2Fadmin$"))
        sign_in(page, usher_email)
        expect(page).to_have_url(f"{server}/admin/sales")
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff")).to_be_visible()

        # sales: today's booking in the totals and in its day's row; by movie it is under its title
        expect(page.get_by_test_id("sales-total-gross")).to_have_text(_rupees(amount))
        expect(page.get_by_test_id("sales-total-net")).to_have_text(_rupees(amount))
        expect(page.get_by_test_id("sales-total-bookings")).to_have_text("1")
        expect(page.get_by_test_id("sales-total-seats")).to_have_text("2")
        expect(page.get_by_test_id("sales-row")).to_have_count(1)
        page.get_by_label("Group by").select_option("movie")
        by_movie = page.get_by_test_id("sales-row")
        expect(by_movie).to_have_text(re.compile(rf"^Midnight Ledger\s*1\s*2\s*{_rupees(amount)}"))
        # occupancy of the showtime: 2 of its 216 seats
        occupancy = page.locator(f'[data-testid="occupancy-row"][data-showtime-id="{showtime_id}"]')
        expect(occupancy).to_contain_text("Midnight Ledger")
        expect(occupancy.locator("td").nth(3)).to_have_text("2")
        expect(occupancy.locator("td").nth(2)).to_have_text("216")
        # both reports download as CSV (the server's rows, with the staff token)
        with page.expect_download() as sales_csv:
            page.get_by_role("button", name="Download sales CSV").click()
        assert sales_csv.value.suggested_filename == "sales-by-movie.csv"
        sales_rows = Path(sales_csv.value.path()).read_text().splitlines()
        assert sales_rows[0].startswith("key,label,bookings") and "Midnight Ledger" in sales_rows[1]
        with page.expect_download() as occupancy_csv:
            page.get_by_role("button", name="Download occupancy CSV").click()
        assert "Midnight Ledger" in Path(occupancy_csv.value.path()).read_text()

        # showtimes: the showtime's own sales; an empty one is cancelled after a confirmation
        staff_nav = page.get_by_role("navigation", name="Staff")
        staff_nav.get_by_role("link", name="Showtimes").click()
        expect(page).to_have_url(f"{server}/admin/showtimes")
        page.get_by_role("button", name=re.compile(r"^Show sales of Midnight Ledger")).click()
        expect(page.get_by_test_id("showtime-revenue")).to_have_text(_rupees(amount))
        expect(page.get_by_test_id("showtime-sales")).to_contain_text("1 confirmed")
        empty_row = page.locator(f'[data-testid="showtime-row"][data-showtime-id="{empty_id}"]')
        expect(empty_row.get_by_test_id("showtime-status")).to_have_text("scheduled")
        page.get_by_role("button", name=re.compile(r"^Cancel showtime Paper Kites")).click()
        page.get_by_role("group", name=re.compile(r"^Confirm cancelling Paper Kites")) \
            .get_by_role("button", name="Yes, cancel and refund").click()
        expect(page.get_by_text("Showtime cancelled: 0 bookings cancelled")).to_be_visible()
        expect(empty_row.get_by_test_id("showtime-status")).to_have_text("cancelled")
        booked_row = page.locator(f'[data-testid="showtime-row"][data-showtime-id="{showtime_id}"]')
        expect(booked_row.get_by_test_id("showtime-status")).to_have_text("scheduled")

        # check-in: the ticket is admitted once, refused the second time; a made-up code is refused
        staff_nav.get_by_role("link", name="Check-in").click()
        ticket = page.get_by_label("Ticket code")
        ticket.fill(code)
        page.get_by_role("button", name="Admit").click()
        admitted = page.get_by_role("status").filter(has_text=f"Admitted: {reference}")
        expect(admitted).to_be_visible()
        expect(admitted).to_contain_text("2 seats: C5, C6")
        expect(ticket).to_have_value("")
        ticket.fill(code)
        ticket.press("Enter")  # a scanner ends with Enter
        refused = page.get_by_role("alert")
        expect(refused).to_contain_text("Already checked in")
        expect(admitted).to_have_count(0)
        ticket.fill("CV1.BOGUS.notasignature")
        page.get_by_role("button", name="Admit").click()
        expect(refused).to_contain_text("Not a valid ticket")

        # promo codes: a bad value is explained in place; a good code is created, listed, then deactivated
        staff_nav.get_by_role("link", name="Promo codes").click()
        page.get_by_label("Code", exact=True).fill("staff20")
        page.get_by_label("Percent off").fill("120")
        page.get_by_role("button", name="Create promo code").click()
        expect(page.get_by_text("A whole percentage from 1 to 100.")).to_be_visible()
        page.get_by_label("Percent off").fill("20")
        page.get_by_label("Maximum discount (₹)").fill("100")
        page.get_by_label("Total redemptions").fill("50")
        page.get_by_role("button", name="Create promo code").click()
        expect(page.get_by_text("Promo code STAFF20 created.")).to_be_visible()
        promo = page.locator('[data-testid="promo-row"][data-code="STAFF20"]')
        expect(promo).to_contain_text("20% off, up to ₹100")
        expect(promo).to_contain_text("0 / 50")
        expect(promo.get_by_test_id("promo-status")).to_have_text("active")
        # the same code again: the API's refusal is shown
        page.get_by_label("Code", exact=True).fill("STAFF20")
        page.get_by_label("Percent off").fill("10")
        page.get_by_role("button", name="Create promo code").click()
        expect(page.get_by_role("alert")).to_have_text("A promo code with this code exists.")
        promo.get_by_role("button", name="Deactivate STAFF20").click()
        promo.get_by_role("button", name="Deactivate", exact=True).click()
        expect(promo.get_by_test_id("promo-status")).to_have_text("inactive")

        # users: search, suspend, and the account's state changes; an admin cannot suspend themself
        staff_nav.get_by_role("link", name="Users").click()
        page.get_by_role("searchbox", name="Search users by email or name").fill("otto")
        page.get_by_role("button", name="Search").click()
        rows = page.get_by_test_id("user-row")
        expect(rows).to_have_count(1)
        otto = page.locator('[data-testid="user-row"][data-email="otto@example.com"]')
        expect(otto.get_by_test_id("user-status")).to_have_text("active")
        expect(otto.get_by_role("combobox")).to_have_count(0)  # roles are a superadmin's to change
        otto.get_by_role("button", name="Suspend otto@example.com").click()
        expect(otto.get_by_test_id("user-status")).to_have_text("suspended")
        expect(otto.get_by_role("button", name="Restore otto@example.com")).to_be_visible()
        assert requests.post(server + "/api/user/login", json={"email": "otto@example.com", "password": PASSWORD},
                             timeout=30).status_code == 401
        assert not page_errors, page_errors

        # a customer who opens /admin is told it is for staff, and has no staff link
        plain = plain_ctx.new_page()
        plain.on("pageerror", lambda exc: page_errors.append(str(exc)))
        plain.goto(f"{server}/signin?next=/admin")
        sign_in(plain, "pat@example.com")
        expect(plain).to_have_url(f"{server}/admin")
        expect(plain.get_by_role("heading", name="Staff only")).to_be_visible()
        expect(plain.get_by_test_id("user-name")).to_have_text("Hi, Pat")
        expect(plain.get_by_role("navigation", name="Main").get_by_role("link", name="Staff")).to_have_count(0)
        expect(plain.get_by_test_id("sales-table")).to_have_count(0)
        assert not page_errors, page_errors
    finally:
        staff_ctx.close()
        plain_ctx.close()


def test_superadmin_changes_roles(app: Flask, server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        boss = make_user(role=Role.SUPERADMIN, email="boss@example.com", name="Sam Boss", password=PASSWORD)
        make_user(email="rhea@example.com", name="Rhea Ready", password=PASSWORD)
        boss_email = boss.email

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"{server}/signin?next=/admin/users")
        sign_in(page, boss_email)
        expect(page).to_have_url(f"{server}/admin/users")
        me = page.locator(f'[data-testid="user-row"][data-email="{boss_email}"]')
        expect(me.get_by_role("combobox")).to_have_count(0)  # not their own role, nor another superadmin's
        expect(me.get_by_role("button")).to_have_count(0)
        role = page.get_by_label("Role of rhea@example.com")
        expect(role).to_have_value("user")
        role.select_option("admin")
        expect(role).to_have_value("admin")
        expect(role).to_be_enabled()
        page.reload()  # the change is the server's, not just the page's
        expect(page.get_by_label("Role of rhea@example.com")).to_have_value("admin")
    finally:
        ctx.close()


def _set_dev_payment_refunded(payment_id: str, refunded: int) -> None:
    """Write how much of a dev gateway payment is refunded straight into its Redis record (the server shares
    this Redis and prefix), as if it had been refunded, or that refund reversed, at the gateway itself."""
    gateway = get_gateway()
    assert isinstance(gateway, DevGateway)
    status = "refunded" if refunded >= gateway.get_payment(payment_id)["amount"] else "captured"
    gateway.redis.hset(gateway._payment_key(payment_id), mapping={"refunded": refunded, "status": status})


def test_staff_retry_a_refund_the_gateway_refused(app: Flask, server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        showtime = make_showtime(movie=make_movie(title="Salt Road"), city="Pune", theatre_name="Deccan Talkies")
        clerk = make_user(role=Role.ADMIN, email="clerk@example.com", name="Cal Clerk", password=PASSWORD)
        make_user(email="ravi@example.com", name="Ravi Refund", password=PASSWORD)
        showtime_id, clerk_email = showtime.id, clerk.email

    booking = _buy(server, "ravi@example.com", showtime_id, ["D3", "D4"])
    amount = booking["amount"]
    with app.app_context():
        payment_id, order_id = db.session.execute(
            sa.select(Payment.gateway_payment_id, Order.public_id).join(Order, Payment.order_id == Order.id)
        ).one()
        # the payment is already refunded in full at the gateway: it refuses our refund, holding none for our key
        _set_dev_payment_refunded(payment_id, amount)

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        page.goto(f"{server}/signin?next=/admin/showtimes")
        sign_in(page, clerk_email)
        expect(page).to_have_url(f"{server}/admin/showtimes")
        page.get_by_role("button", name=re.compile(r"^Cancel showtime Salt Road")).click()
        page.get_by_role("group", name=re.compile(r"^Confirm cancelling Salt Road")) \
            .get_by_role("button", name="Yes, cancel and refund").click()
        expect(page.get_by_text("Showtime cancelled: 1 booking cancelled, 1 refund started")).to_be_visible()

        # Refunds opens on the failed ones: the refused refund, with the gateway's reason
        page.get_by_role("navigation", name="Staff").get_by_role("link", name="Refunds").click()
        expect(page).to_have_url(f"{server}/admin/refunds")
        expect(page.get_by_label("Refund state")).to_have_value("failed")
        row = page.locator(f'[data-testid="refund-row"][data-order-id="{order_id}"]')
        expect(page.get_by_test_id("refund-row")).to_have_count(1)
        expect(row.get_by_test_id("refund-state")).to_have_text("failed")
        expect(row).to_contain_text(_rupees(amount))
        expect(row).to_contain_text("showtime cancelled")
        expect(row).to_contain_text("refund failed")  # the order's state
        expect(row.get_by_test_id("refund-attempts")).to_have_text("1")
        expect(row.get_by_test_id("refund-last-error")).to_have_text(
            "The refund is more than what is left of the payment.")
        with app.app_context():
            assert db.session.scalar(sa.select(Order.state)) == OrderState.REFUND_FAILED

        # the cause is fixed at the gateway (that earlier refund reversed); staff retry and it goes through
        with app.app_context():
            _set_dev_payment_refunded(payment_id, 0)
        row.get_by_role("button", name=f"Retry refund for order {order_id}").click()
        expect(page.get_by_role("status").filter(has_text="Refund retried")).to_contain_text(
            f"Refund of {_rupees(amount)} for order {order_id} processed.")
        expect(page.get_by_test_id("refund-row")).to_have_count(0)
        expect(page.get_by_text("No refunds are waiting for staff")).to_be_visible()

        page.get_by_label("Refund state").select_option("processed")
        expect(row.get_by_test_id("refund-state")).to_have_text("processed")
        expect(row.get_by_test_id("refund-last-error")).to_have_text("—")
        expect(row.get_by_test_id("refund-attempts")).to_have_text("2")
        expect(row.get_by_role("button")).to_have_count(0)  # only failed refunds can be retried
        with app.app_context():
            assert db.session.scalar(sa.select(Order.state)) == OrderState.REFUNDED
            gateway = get_gateway()
            assert isinstance(gateway, DevGateway)
            assert gateway.get_payment(payment_id)["refunded"] == amount
            assert len(gateway.refunds_of(payment_id)) == 1
        assert not page_errors, page_errors
    finally:
        ctx.close()
