"""Catalogue routes on PostgreSQL: filters, pagination, seat maps, 404 and 4xx paths."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import SeatState, ShowtimeSeat
from tests.factories import make_movie, make_screen, make_showtime


@pytest.fixture()
def catalogue(ctx):
    tz = ZoneInfo("Asia/Kolkata")
    day = (datetime.now(tz) + timedelta(days=2)).replace(hour=18, minute=0, second=0, microsecond=0)
    blr = make_screen(city="Bengaluru", theatre_name="PVR Forum")
    mum = make_screen(city="Mumbai", theatre_name="Regal")
    orbit = make_movie(title="The Last Orbit", genre="Sci-Fi", language="English")
    monsoon = make_movie(title="Monsoon Over Mumbai", genre="Drama", language="Hindi")
    make_movie(title="Paper Lanterns", genre="Animation", language="English")
    make_showtime(orbit, blr, day)
    make_showtime(monsoon, mum, day + timedelta(days=1))
    return {"day": day, "orbit": orbit.id, "monsoon": monsoon.id}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [m["title"] for m in response.get_json()["items"]]


def test_movies_list_is_paginated(client, catalogue):
    body = client.get("/api/movies?per_page=2").get_json()
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 2
    assert [m["title"] for m in body["items"]] == ["Monsoon Over Mumbai", "Paper Lanterns"]
    assert titles(client.get("/api/movies?per_page=2&page=2")) == ["The Last Orbit"]
    assert titles(client.get("/api/movies?page=9")) == []


@pytest.mark.parametrize("query, expected", [
    ("q=orbit", ["The Last Orbit"]),
    ("q=MUMBAI", ["Monsoon Over Mumbai"]),
    ("q=%25", []),  # a literal percent sign is not a wildcard
    ("genre=sci-fi", ["The Last Orbit"]),
    ("language=ENGLISH", ["Paper Lanterns", "The Last Orbit"]),
    ("city=bengaluru", ["The Last Orbit"]),
    ("city=Mumbai&genre=drama", ["Monsoon Over Mumbai"]),
    ("city=Chennai", []),
])
def test_movie_filters_are_case_insensitive(client, catalogue, query, expected):
    assert titles(client.get(f"/api/movies?{query}")) == expected


def test_movie_filter_by_local_date(client, catalogue):
    day = catalogue["day"].date().isoformat()
    next_day = (catalogue["day"] + timedelta(days=1)).date().isoformat()
    assert titles(client.get(f"/api/movies?date={day}")) == ["The Last Orbit"]
    assert titles(client.get(f"/api/movies?date={next_day}&city=mumbai")) == ["Monsoon Over Mumbai"]
    assert titles(client.get(f"/api/movies?date={next_day}&city=bengaluru")) == []


@pytest.mark.parametrize("query", ["page=0", "page=-1", "per_page=0", "per_page=1000", "page=abc",
                                   "date=2026-02-30", "date=tomorrow", "q="])
def test_bad_query_parameters_are_refused(client, catalogue, query):
    response = client.get(f"/api/movies?{query}")
    assert response.status_code in (400, 422)
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert error["details"]["fields"]


def test_movie_detail_and_showtimes(client, catalogue):
    movie = client.get(f"/api/movies/{catalogue['orbit']}").get_json()
    assert movie["title"] == "The Last Orbit" and movie["duration_min"] == 120
    body = client.get(f"/api/movies/{catalogue['orbit']}/showtimes").get_json()
    assert body["total"] == 1
    showtime = body["items"][0]
    assert showtime["theatre"]["city"] == "Bengaluru"
    assert datetime.fromisoformat(showtime["starts_at"]) == catalogue["day"]
    assert client.get(f"/api/movies/{catalogue['orbit']}/showtimes?city=mumbai").get_json()["total"] == 0


def test_past_showtimes_are_not_listed(client, ctx):
    movie = make_movie()
    make_showtime(movie, starts_at=datetime.now(timezone.utc) - timedelta(hours=5))
    assert client.get(f"/api/movies/{movie.id}/showtimes").get_json()["items"] == []


def test_theatres_filter_by_city(client, catalogue):
    body = client.get("/api/theatres?city=MUMBAI").get_json()
    assert [t["name"] for t in body["items"]] == ["Regal"]
    assert body["items"][0]["screens"][0]["seat_count"] == 216
    assert client.get("/api/theatres").get_json()["total"] == 2


@pytest.mark.parametrize("url, code", [
    ("/api/movies/999999", "movie_not_found"),
    ("/api/movies/999999/showtimes", "movie_not_found"),
    ("/api/showtimes/999999", "showtime_not_found"),
    ("/api/showtimes/999999/seats", "showtime_not_found"),
    ("/api/no-such-route", "not_found"),
])
def test_unknown_ids_give_json_404(client, ctx, url, code):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == code


def test_non_integer_id_is_404_not_500(client, ctx):
    assert client.get("/api/movies/abc").status_code == 404


def test_wrong_method_is_json_405(client, ctx):
    response = client.delete("/api/movies")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_seat_map_has_216_seats_in_two_priced_sections(client, ctx):
    showtime = make_showtime()
    body = client.get(f"/api/showtimes/{showtime.id}/seats").get_json()
    seats = body["seats"]
    assert len(seats) == 216 and body["rows"] == list("ABCDEFGHIJKL") and body["seats_per_row"] == 18
    assert {s["id"] for s in seats} == {f"{r}{n}" for r in "ABCDEFGHIJKL" for n in range(1, 19)}
    by_section = {}
    for seat in seats:
        by_section.setdefault(seat["section"], set()).add((seat["row"], seat["price"]))
    assert {row for row, _ in by_section["premium"]} == set("IJKL")
    assert {row for row, _ in by_section["regular"]} == set("ABCDEFGH")
    premium_price = {p for _, p in by_section["premium"]}
    regular_price = {p for _, p in by_section["regular"]}
    assert len(premium_price) == 1 and len(regular_price) == 1
    assert premium_price.pop() > regular_price.pop()
    assert body["counts"] == {"available": 216, "locked": 0, "booked": 0, "blocked": 0}
    assert {s["name"]: s["price"] for s in body["sections"]} == {"regular": 20000, "premium": 35000}
    assert next(s for s in seats if s["id"] == "A1")["accessible"] is True


def test_seat_map_shows_booked_seats(client, ctx):
    showtime = make_showtime()
    seat = db.session.query(ShowtimeSeat).filter_by(showtime_id=showtime.id, label="B7").one()
    seat.state = SeatState.BLOCKED
    db.session.commit()
    seats = {s["id"]: s["status"] for s in client.get(f"/api/showtimes/{showtime.id}/seats").get_json()["seats"]}
    assert seats["B7"] == "blocked" and seats["B8"] == "available"


def test_showtime_detail(client, ctx):
    showtime = make_showtime(city="Delhi")
    body = client.get(f"/api/showtimes/{showtime.id}").get_json()
    assert body["theatre"]["city"] == "Delhi" and body["status"] == "scheduled"
    assert datetime.fromisoformat(body["starts_at"]).tzinfo is not None
