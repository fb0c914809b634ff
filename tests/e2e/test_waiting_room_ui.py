"""The waiting room in headless Chromium against the real app: staff turn it on from the showtimes page,
a buyer who finds every place taken sees the waiting page with their position, and the seat map opens by
itself the moment the buyer ahead leaves; a lock from that page carries the pass."""

from __future__ import annotations

import pytest
import requests
from flask import Flask

from app.models import Role
from tests.e2e.browser_support import PASSWORD, sign_in
from tests.factories import make_showtime, make_user

pytestmark = pytest.mark.browser


def _token(server: str, email: str) -> str:
    response = requests.post(f"{server}/api/user/login", json={"email": email, "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_staff_open_a_waiting_room_and_a_buyer_is_let_in_in_turn(app: Flask, server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        showtime = make_showtime()
        make_user(email="boxoffice@example.com", role=Role.ADMIN, password=PASSWORD)
        make_user(email="first@example.com", password=PASSWORD)
        make_user(email="second@example.com", password=PASSWORD)
        showtime_id = showtime.id

    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    buyer = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # staff: the showtimes page, On-sale, a waiting room letting one buyer choose at a time
        page = staff.new_page()
        page.goto(f"{server}/signin?next=/admin/showtimes")
        sign_in(page, "boxoffice@example.com")
        row = page.locator(f'[data-testid="showtime-row"][data-showtime-id="{showtime_id}"]')
        row.get_by_role("button", name="On-sale settings").click()
        form = page.get_by_role("form", name="On-sale settings")
        form.get_by_test_id("waiting-room-enabled").check()
        form.get_by_label("Buyers choosing at once").fill("1")
        form.get_by_role("button", name="Save on-sale").click()
        expect(page.get_by_text("Saved.")).to_be_visible()

        # somebody else takes the one place
        first = {"Authorization": f"Bearer {_token(server, 'first@example.com')}"}
        queue = f"{server}/api/showtimes/{showtime_id}/queue"
        assert requests.post(queue, headers=first, timeout=10).status_code == 200
        expect(page.get_by_test_id("queue-occupancy")).to_contain_text("1 choosing seats now", timeout=10_000)

        # the buyer waits, with a position, and no seat map yet
        shop = buyer.new_page()
        shop.goto(f"{server}/signin?next=/showtimes/{showtime_id}")
        sign_in(shop, "second@example.com")
        expect(shop.get_by_test_id("waiting-room")).to_be_visible()
        expect(shop.get_by_test_id("queue-position")).to_have_text("1")
        expect(shop.locator("[data-seat]")).to_have_count(0)

        # the one ahead leaves: the seat map opens by itself, and holding a seat works with the pass
        assert requests.delete(queue, headers=first, timeout=10).status_code == 204
        expect(shop.locator("[data-seat]")).to_have_count(216, timeout=10_000)
        expect(shop.get_by_test_id("live-status")).to_have_attribute("data-status", "live")
        shop.locator('[data-seat="A1"]').click()
        expect(shop.locator('[data-seat="A1"]')).to_have_attribute("data-status", "mine", timeout=10_000)
    finally:
        staff.close()
        buyer.close()
