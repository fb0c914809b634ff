"""The seat picker and the pages around it for people who do not use a mouse or do not see well
(issue 15): axe-core 4 finds no serious or critical violation on the movie, seat and checkout pages, and a
keyboard alone crosses the seat map (one Tab stop, arrow keys, Enter) and checks out."""

from __future__ import annotations

import re

from flask import Flask

from app.services.seats import holds
from tests.e2e.browser_support import PASSWORD, axe_violations, sign_in
from tests.factories import make_movie, make_showtime, make_user


def _summary(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {v['nodes'][:3]}" for v in violations]


def test_no_serious_violations_and_a_keyboard_only_purchase(app: Flask, server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        movie = make_movie(title="Lantern Street", genre="Drama", language="Tamil")
        showtime = make_showtime(movie=movie, city="Chennai", theatre_name="Harbour Screens")
        make_user(email="keys@example.com", name="Kiran Keys", password=PASSWORD)
        showtime_id, movie_id, other_id = showtime.id, movie.id, make_user().id

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(server + "/")
    expect(page.get_by_test_id("movie-card")).to_have_count(1)
    assert _summary(axe_violations(page)) == [], "home page"
    page.goto(f"{server}/movies/{movie_id}")
    expect(page.get_by_role("heading", name="Lantern Street")).to_be_visible()
    assert _summary(axe_violations(page)) == [], "movie page"

    page.goto(f"{server}/signin?next=/showtimes/{showtime_id}")
    sign_in(page, "keys@example.com")
    expect(page).to_have_url(f"{server}/showtimes/{showtime_id}")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "live")
    assert _summary(axe_violations(page)) == [], "seat page"

    # the map is one Tab stop: focus enters on one seat, the arrow keys move, Enter holds
    seats = page.locator("[data-seat]")
    assert seats.evaluate_all("els => els.filter(e => e.tabIndex === 0).length") == 1
    first = page.locator("[data-seat][tabindex='0']")
    start = first.get_attribute("data-seat")
    first.focus()
    name = first.get_attribute("aria-label") or ""
    assert re.match(r"^Row [A-L], seat \d+, \w+, \d+ rupees, available", name), name
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.dataset.seat")
    assert start == "A1" and focused == "B3"  # down a row, then two seats along
    page.keyboard.press("Enter")
    expect(page.locator(f'[data-seat="{focused}"]')).to_have_attribute("data-status", "mine")
    expect(page.get_by_test_id("held-seats")).to_have_text(focused)
    assert page.locator(f'[data-seat="{focused}"]').evaluate("e => e.tabIndex") == 0  # focus stays put
    assert _summary(axe_violations(page)) == [], "seat page with a held seat"
    # what others do is announced, politely
    with app.app_context():
        holds.lock(showtime_id, str(other_id), ["C5"])
    expect(page.get_by_test_id("seat-announcer")).to_have_text("Seat C5 just taken.")
    expect(page.get_by_test_id("seat-announcer")).to_have_attribute("aria-live", "polite")

    # on to the checkout with Tab and Enter only
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Proceed to checkout":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/checkout/{showtime_id}?seats={focused}")
    expect(page.get_by_test_id("order-amount")).to_be_visible()
    assert _summary(axe_violations(page)) == [], "checkout page"
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Pay (test gateway)":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("booking-confirmation")).to_be_visible(timeout=15_000)
