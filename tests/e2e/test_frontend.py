"""The built frontend in headless Chromium against the real app (gunicorn, test PostgreSQL + Redis).

One user's whole purchase, watched live from a second browser context: movie list and filters, movie
detail, the 12x18 seat map, a seat turning locked and then booked in the other context (over the seat
WebSocket), sign-in through the UI, checkout with the dev gateway, the booking in "My bookings" and its
ticket download. The server and browser fixtures are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from flask import Flask

from tests.e2e.browser_support import PASSWORD, sign_in
from tests.factories import make_movie, make_showtime, make_user

SCREENSHOT = Path(tempfile.gettempdir()) / "cineverse-seatmap.png"

pytestmark = pytest.mark.browser


def test_browse_hold_pay_and_watch_live(app: Flask, server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        movie = make_movie(title="Starlight Harbour", genre="Sci-Fi", language="English", duration_min=131)
        make_movie(title="Quiet Village", genre="Drama", language="Hindi")
        showtime = make_showtime(movie=movie, city="Pune", theatre_name="Orbit Cinemas")
        buyer = make_user(email="buyer@example.com", name="Asha Buyer", password=PASSWORD)
        make_user(email="watcher@example.com", name="Ravi Watcher", password=PASSWORD)
        showtime_id, buyer_email = showtime.id, buyer.email
        from app.extensions import db
        from app.models import PromoCode, PromoKind

        db.session.add(PromoCode(code="FIRST50", kind=PromoKind.FLAT, value=5_000, min_order_amount=0))
        db.session.commit()

    buyer_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    watcher_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = buyer_ctx.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        # movie list, filtered by genre and by the title search
        page.goto(server + "/")
        cards = page.get_by_test_id("movie-card")
        expect(cards).to_have_count(2)
        page.get_by_label("Genre").select_option("Sci-Fi")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("Starlight Harbour")
        page.get_by_label("City").select_option("Pune")
        page.get_by_role("searchbox", name="Search movies by title").fill("starlight")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"q=starlight.*|genre=Sci-Fi"))
        assert "q=starlight" in page.url and "genre=Sci-Fi" in page.url and "city=Pune" in page.url
        expect(cards).to_have_count(1)

        # movie detail -> its showtime
        cards.first.click()
        expect(page.get_by_role("heading", name="Starlight Harbour")).to_be_visible()
        expect(page.get_by_text("Orbit Cinemas", exact=True)).to_be_visible()
        page.get_by_test_id("showtime-link").first.click()
        expect(page).to_have_url(f"{server}/showtimes/{showtime_id}")
        expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "live")
        seats = page.locator("[data-seat]")
        expect(seats).to_have_count(216)
        expect(page.get_by_test_id("available-count")).to_have_text("216")

        # another signed-in user watches the same seat map
        watcher = watcher_ctx.new_page()
        watcher.goto(f"{server}/signin?next=/showtimes/{showtime_id}")
        sign_in(watcher, "watcher@example.com")
        expect(watcher).to_have_url(f"{server}/showtimes/{showtime_id}")
        expect(watcher.get_by_test_id("live-status")).to_have_attribute("data-status", "live")
        watched_seat = watcher.locator('[data-seat="E7"]')
        expect(watched_seat).to_have_attribute("data-status", "available")

        # choosing a seat signed out asks to sign in, then comes back to the seat map
        page.locator('[data-seat="E7"]').click()
        expect(page).to_have_url(re.compile(r"/signin\?next="))
        sign_in(page, buyer_email)
        expect(page).to_have_url(f"{server}/showtimes/{showtime_id}")
        expect(page.get_by_test_id("user-name")).to_have_text("Hi, Asha")
        expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "live")

        page.locator('[data-seat="E7"]').click()
        expect(page.locator('[data-seat="E7"]')).to_have_attribute("data-status", "mine")
        expect(page.get_by_test_id("held-seats")).to_have_text("E7")
        expect(page.get_by_test_id("hold-countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))
        # the other context sees it locked, live over the WebSocket (it never reloads)
        expect(watched_seat).to_have_attribute("data-status", "locked", timeout=10_000)
        expect(watched_seat).to_have_attribute("aria-label", re.compile("held by someone else"))

        # a seat someone else holds cannot be chosen
        watcher.locator('[data-seat="E8"]').click()
        expect(watcher.locator('[data-seat="E8"]')).to_have_attribute("data-status", "mine")
        expect(page.locator('[data-seat="E8"]')).to_have_attribute("data-status", "locked", timeout=10_000)
        expect(page.locator('[data-seat="E8"]')).to_have_attribute("aria-disabled", "true")
        # ...and releasing gives it back to everyone
        watcher.get_by_role("button", name="Release").click()
        expect(page.locator('[data-seat="E8"]')).to_have_attribute("data-status", "available", timeout=10_000)

        page.set_viewport_size({"width": 1280, "height": 1240})  # the whole map, hold bar below it
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        # checkout with the dev gateway: the server's amount, pay, booking reference
        page.get_by_role("button", name="Proceed to checkout").click()
        expect(page).to_have_url(f"{server}/checkout/{showtime_id}?seats=E7")
        expect(page.get_by_test_id("order-amount")).to_have_text("₹200")
        # a promo code: a wrong one is explained in place, a right one (any case) lowers the amount
        page.get_by_label("Promo code").fill("nope")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_text("This promo code is not valid.")).to_be_visible()
        expect(page.get_by_test_id("order-amount")).to_have_text("₹200")
        page.get_by_label("Promo code").fill("first50")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_test_id("order-amount")).to_have_text("₹150")
        expect(page.get_by_test_id("order-discount")).to_contain_text("FIRST50")
        page.get_by_role("button", name="Pay (test gateway)").click()
        confirmation = page.get_by_test_id("booking-confirmation")
        expect(confirmation).to_be_visible(timeout=15_000)
        reference = page.get_by_test_id("booking-reference").inner_text().strip()
        assert reference
        expect(confirmation).to_contain_text("E7")
        expect(confirmation).to_contain_text("₹150")

        # the watcher sees the seat booked, still live
        expect(watched_seat).to_have_attribute("data-status", "booked", timeout=10_000)
        page.screenshot(path=str(SCREENSHOT.with_name("cineverse-confirmation.png")))
        watcher.set_viewport_size({"width": 390, "height": 844})  # a phone still gets the whole map (scrolls)
        watcher.screenshot(path=str(SCREENSHOT.with_name("cineverse-seatmap-phone.png")))

        # the ticket downloads (202 "rendering" is retried by the client)
        with page.expect_download(timeout=30_000) as download_info:
            page.get_by_role("button", name=f"Download ticket {reference}").click()
        download = download_info.value
        assert download.suggested_filename == f"cineverse-ticket-{reference}.pdf"
        assert Path(download.path()).read_bytes().startswith(b"%PDF")

        # my bookings lists it with its reference
        page.get_by_role("link", name="My bookings").click()
        booking = page.get_by_test_id("booking-card").filter(has_text=reference)
        expect(booking).to_be_visible()
        expect(booking).to_contain_text("Starlight Harbour")
        expect(booking).to_contain_text("E7")
        page.screenshot(path=str(SCREENSHOT.with_name("cineverse-bookings.png")))
        assert not page_errors, page_errors
    finally:
        buyer_ctx.close()
        watcher_ctx.close()
