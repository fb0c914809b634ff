"""The seat rules in the browser (issue 15): a choice that would strand a seat is refused with the seat sets
the server suggests, one click holds a suggestion, and "Best seats" holds the best block together."""

from __future__ import annotations

import re

from flask import Flask

from tests.e2e.browser_support import PASSWORD, sign_in
from tests.factories import make_screen, make_showtime, make_user


def test_a_stranding_choice_offers_suggestions_and_best_seats_holds_a_block(app: Flask, server: str,
                                                                          browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        showtime = make_showtime(screen=make_screen(single_seat_gaps=False, companions=True))
        make_user(email="rules@example.com", name="Mira Rules", password=PASSWORD)
        showtime_id = showtime.id

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/signin?next=/showtimes/{showtime_id}")
    sign_in(page, "rules@example.com")
    expect(page).to_have_url(f"{server}/showtimes/{showtime_id}")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "live")

    page.locator('[data-seat="B2"]').click()  # would leave B1 alone at the row's end
    expect(page.get_by_text(re.compile("would leave B1 as a single empty seat"))).to_be_visible()
    expect(page.locator('[data-seat="B2"]')).to_have_attribute("data-status", "available")
    suggestion = page.get_by_test_id("seat-suggestions").get_by_role("button").first
    label = suggestion.inner_text()
    suggestion.click()
    wanted = re.sub(r"^Hold | instead$", "", label)
    expect(page.get_by_test_id("held-seats")).to_have_text(wanted)

    page.get_by_test_id("best-count").select_option("3")
    page.get_by_test_id("best-seats").click()
    expect(page.get_by_test_id("held-seats")).to_contain_text("H8, H9, H10")
    for seat in ("H8", "H9", "H10"):
        expect(page.locator(f'[data-seat="{seat}"]')).to_have_attribute("data-status", "mine")
    assert errors == []
