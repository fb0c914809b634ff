"""Staff reports against known rows: sales by day / movie / theatre with refunds, and occupancy."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Booking,
    BookingState,
    Order,
    OrderState,
    Payment,
    PaymentState,
    Refund,
    RefundState,
    Role,
    SeatState,
    ShowtimeSeat,
)
from tests.factories import auth_headers, make_movie, make_screen, make_showtime, make_user

UTC = timezone.utc
IST = ZoneInfo("Asia/Kolkata")  # APP_TIMEZONE in the tests


def sell(showtime, user, seats: list[str], amount: int, created_at: datetime, refund: int | None = None,
         refund_state: RefundState = RefundState.PROCESSED) -> Booking:
    """A paid booking made at created_at (rows written directly: the report reads only rows)."""
    token = secrets.token_hex(6)
    order = Order(public_id=f"ord_{token}", user_id=user.id, showtime_id=showtime.id, seat_labels=seats,
                  amount=amount, gateway="dev", gateway_order_id=f"order_{token}", state=OrderState.BOOKED,
                  expires_at=created_at + timedelta(minutes=10), created_at=created_at)
    db.session.add(order)
    db.session.flush()
    payment = Payment(order_id=order.id, gateway="dev", gateway_payment_id=f"pay_{token}", amount=amount,
                      state=PaymentState.CAPTURED, created_at=created_at)
    booking = Booking(reference=f"CV{token}".upper(), user_id=user.id, showtime_id=showtime.id, order_id=order.id,
                      seat_labels=seats, amount=amount, state=BookingState.CONFIRMED, created_at=created_at)
    db.session.add_all([payment, booking])
    db.session.flush()
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == showtime.id,
                                                     ShowtimeSeat.label.in_(seats))
                       .values(state=SeatState.BOOKED, booking_id=booking.id))
    if refund is not None:
        db.session.add(Refund(payment_id=payment.id, amount=refund, reason="cancelled", state=refund_state))
        if refund_state is not RefundState.FAILED:
            booking.state = BookingState.CANCELLED
    db.session.commit()
    return booking


@pytest.fixture()
def known_sales(ctx):
    buyer = make_user()
    orbit, rain = make_movie(title="Orbit"), make_movie(title="Rain")
    north, south = make_screen(theatre_name="North Cinema"), make_screen(theatre_name="South Cinema")
    orbit_north = make_showtime(orbit, north)
    rain_south = make_showtime(rain, south)
    orbit_south = make_showtime(orbit, south, starts_at=rain_south.starts_at + timedelta(hours=4))
    # 1 March IST: one booking. 20:00 UTC on 1 March is 01:30 on 2 March in India: it counts on the 2nd.
    sell(orbit_north, buyer, ["A1", "A2"], 40_000, datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    sell(rain_south, buyer, ["I1"], 35_000, datetime(2026, 3, 1, 20, 0, tzinfo=UTC), refund=17_500)
    sell(orbit_south, buyer, ["B1", "B2", "B3"], 60_000, datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
         refund=60_000, refund_state=RefundState.FAILED)  # a failed refund gave nothing back
    sell(orbit_north, buyer, ["C1"], 20_000, datetime(2026, 3, 5, 6, 0, tzinfo=UTC))  # outside the range
    sell(orbit_north, buyer, ["C2"], 20_000, datetime(2026, 2, 28, 18, 29, tzinfo=UTC))  # 23:59 IST on 28 Feb
    return {"orbit": orbit, "rain": rain, "north": north.theatre, "south": south.theatre}


def money(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "INR"}


def get(client, url, user):
    response = client.get(url, headers=auth_headers(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_sales_by_day_in_the_app_time_zone(client, known_sales):
    admin = make_user(role=Role.ADMIN)
    body = get(client, "/api/admin/reports/sales?from=2026-03-01&to=2026-03-03", admin)
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-03" and body["group_by"] == "day"
    assert body["total"] == 2 and body["page"] == 1
    first, second = body["items"]
    assert first == {"key": "2026-03-01", "label": "2026-03-01", "bookings": 1, "seats_sold": 2,
                     "gross": money(40_000), "refunds": money(0), "net": money(40_000)}
    assert second == {"key": "2026-03-02", "label": "2026-03-02", "bookings": 2, "seats_sold": 4,
                      "gross": money(95_000), "refunds": money(17_500), "net": money(77_500)}
    assert body["totals"] == {"bookings": 3, "seats_sold": 6, "gross": money(135_000), "refunds": money(17_500),
                              "net": money(117_500)}


def test_sales_by_movie_and_by_theatre_with_filters_and_pages(client, known_sales):
    admin = make_user(role=Role.ADMIN)
    orbit, rain = known_sales["orbit"], known_sales["rain"]
    north, south = known_sales["north"], known_sales["south"]
    by_movie = get(client, "/api/admin/reports/sales?from=2026-03-01&to=2026-03-03&group_by=movie", admin)
    assert [(i["label"], i["movie_id"], i["bookings"], i["gross"]["amount"], i["net"]["amount"])
            for i in by_movie["items"]] == [("Orbit", orbit.id, 2, 100_000, 100_000),
                                            ("Rain", rain.id, 1, 35_000, 17_500)]
    by_theatre = get(client, "/api/admin/reports/sales?from=2026-03-01&to=2026-03-03&group_by=theatre", admin)
    assert [(i["label"], i["theatre_id"], i["seats_sold"], i["net"]["amount"]) for i in by_theatre["items"]] == [
        ("North Cinema", north.id, 2, 40_000), ("South Cinema", south.id, 4, 77_500)]
    paged = get(client, "/api/admin/reports/sales?from=2026-03-01&to=2026-03-03&group_by=theatre&per_page=1&page=2",
                admin)
    assert paged["total"] == 2 and [i["label"] for i in paged["items"]] == ["South Cinema"]
    assert paged["totals"]["bookings"] == 3  # totals cover the whole range, not the page
    south_orbit = get(client, f"/api/admin/reports/sales?from=2026-02-01&to=2026-03-31&theatre_id={south.id}"
                              f"&movie_id={orbit.id}", admin)
    assert south_orbit["totals"]["bookings"] == 1 and south_orbit["totals"]["gross"] == money(60_000)
    february = get(client, "/api/admin/reports/sales?from=2026-02-28&to=2026-02-28", admin)
    assert [i["key"] for i in february["items"]] == ["2026-02-28"] and february["totals"]["gross"] == money(20_000)


@pytest.mark.parametrize("query", ["from=2026-03-05&to=2026-03-01", "from=2025-01-01&to=2026-03-01",
                                   "group_by=week", "from=2026-02-30", "to=yesterday", "theatre_id=0"])
def test_bad_report_queries_are_422(client, ctx, query):
    admin = make_user(role=Role.ADMIN)
    for report in ("sales", "occupancy"):
        if report == "occupancy" and "group_by" in query:
            continue
        response = client.get(f"/api/admin/reports/{report}?{query}", headers=auth_headers(admin))
        assert response.status_code == 422, (report, query, response.get_json())
        assert response.get_json()["error"]["code"] in ("validation_error", "report_range_too_long")


def test_reports_are_staff_only(client, ctx):
    user = make_user()
    for report in ("sales", "occupancy"):
        assert client.get(f"/api/admin/reports/{report}").status_code == 401
        assert client.get(f"/api/admin/reports/{report}", headers=auth_headers(user)).status_code == 403


def test_occupancy_per_showtime(client, ctx):
    admin, buyer = make_user(role=Role.ADMIN), make_user()
    day = (datetime.now(IST) + timedelta(days=3)).date()
    evening = datetime(day.year, day.month, day.day, 18, 0, tzinfo=IST)
    busy = make_showtime(make_movie(title="Busy"), starts_at=evening)
    quiet = make_showtime(make_movie(title="Quiet"), starts_at=evening + timedelta(hours=1))
    make_showtime(make_movie(title="Later"), starts_at=evening + timedelta(days=2))  # outside the range
    seats_total = db.session.scalar(sa.select(sa.func.count()).select_from(ShowtimeSeat)
                                    .where(ShowtimeSeat.showtime_id == busy.id))
    assert seats_total == 216  # the default 12 x 18 layout
    db.session.execute(sa.update(ShowtimeSeat).where(ShowtimeSeat.showtime_id == busy.id,
                                                     ShowtimeSeat.label.in_(["L1", "L2", "L3", "L4"]))
                       .values(state=SeatState.BLOCKED))
    db.session.commit()
    sell(busy, buyer, [f"A{n}" for n in range(1, 11)] + [f"B{n}" for n in range(1, 11)],
         400_000, datetime.now(UTC))
    sell(busy, buyer, [f"D{n}" for n in range(1, 12)] + ["E1"], 240_000, datetime.now(UTC))
    locked = client.post(f"/api/showtimes/{quiet.id}/redis-lock-seats", json={"seat_ids": ["F1", "F2", "F3"]},
                         headers=auth_headers(buyer))
    assert locked.status_code == 200, locked.get_json()

    body = get(client, f"/api/admin/reports/occupancy?from={day}&to={day}&include_held=true", admin)
    assert body["total"] == 2 and [i["movie"]["title"] for i in body["items"]] == ["Busy", "Quiet"]
    first, second = body["items"]
    assert (first["showtime_id"], first["capacity"], first["sold"], first["held"]) == (busy.id, 212, 32, 0)
    assert first["occupancy_percent"] == 15.1  # 32 / 212
    assert (second["capacity"], second["sold"], second["held"], second["occupancy_percent"]) == (216, 0, 3, 0.0)
    assert body["totals"] == {"showtimes": 2, "capacity": 428, "sold": 32, "occupancy_percent": 7.5}
    without_holds = get(client, f"/api/admin/reports/occupancy?from={day}&to={day}&per_page=1&page=2", admin)
    assert without_holds["total"] == 2 and without_holds["items"][0]["held"] is None
    assert without_holds["items"][0]["movie"]["title"] == "Quiet"
    mine = get(client, f"/api/admin/reports/occupancy?from={day}&to={day + timedelta(days=2)}"
                       f"&movie_id={busy.movie_id}", admin)
    assert [i["showtime_id"] for i in mine["items"]] == [busy.id]


def test_default_range_is_the_last_thirty_days(client, ctx):
    admin = make_user(role=Role.ADMIN)
    body = get(client, "/api/admin/reports/sales", admin)
    today = datetime.now(IST).date()
    assert body["to"] == today.isoformat() and date.fromisoformat(body["from"]) == today - timedelta(days=29)
    assert body["items"] == [] and body["totals"]["gross"] == money(0)
