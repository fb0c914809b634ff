"""Input that parses but cannot be used is a 4xx, never a 500: JSON nested deeper than Python's parser
recurses, strings with a lone surrogate (no UTF-8 encoder takes them), days and instants at the ends
of what datetime can hold."""

from __future__ import annotations

import pytest

from app.models import Role
from tests.factories import auth_headers, make_showtime, make_user

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("path", ["/api/showtimes/{sid}/redis-lock-seats", "/api/showtimes/{sid}/redis-extend-locks",
                                  "/api/user/register", "/api/payments/create-order"])
def test_deeply_nested_json_is_a_400(client, ctx, path):
    showtime, user = make_showtime(), make_user()
    response = client.post(path.format(sid=showtime.id), data=DEEP, content_type="application/json",
                           headers=auth_headers(user))
    assert response.status_code == 400, response.get_data()
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_a_deep_body_under_the_lane_limit_is_a_400_too(client, ctx):
    """2,048 bytes (the hold lane's limit) are enough to nest 1,024 levels."""
    showtime, user = make_showtime(), make_user()
    headers = auth_headers(user)
    url = f"/api/showtimes/{showtime.id}/redis-lock-seats"
    assert client.post(url, json={"seat_ids": ["A1"]}, headers=headers).status_code == 200  # token known
    response = client.post(url, data="[" * 1024 + "]" * 1024, content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


def test_a_legitimately_bracket_heavy_body_is_still_read(client, ctx):
    user = make_user()
    body = '{"email": "x@example.com", "name": "' + "[" * 300 + '", "password": "a long enough secret"}'
    response = client.post("/api/user/register", data=body, content_type="application/json",
                           headers=auth_headers(user))
    assert response.status_code != 500
    assert response.get_json()["error"]["code"] != "invalid_json"


@pytest.mark.parametrize("path, body", [
    ("/api/user/login", '{"email": "a@example.com", "password": "\\udc00 secret secret"}'),
    ("/api/user/send-otp", '{"email": "\\ud800@example.com"}'),
    ("/api/payments/create-order", '{"showtime_id": 1, "seat_ids": ["A1"], "promo_code": "X\\ud83d"}'),
])
def test_a_lone_surrogate_is_refused_at_the_edge(client, ctx, path, body):
    response = client.post(path, data=body, content_type="application/json", headers=auth_headers(make_user()))
    assert response.status_code == 422, response.get_data()
    assert response.get_json()["error"]["code"] == "invalid_characters"


def test_a_surrogate_pair_is_an_ordinary_character(client, ctx):
    body = '{"email": "nobody@example.com", "password": "party \\ud83c\\udf89 time"}'
    response = client.post("/api/user/login", data=body, content_type="application/json")
    assert response.status_code == 401 and response.get_json()["error"]["code"] != "invalid_characters"


@pytest.mark.parametrize("path", ["/api/movies?date=0001-01-01", "/api/movies?date=9999-12-31",
                                  "/api/admin/reports/sales?to=0001-01-01",
                                  "/api/admin/reports/occupancy?from=9999-12-31"])
def test_days_at_the_ends_of_the_calendar_are_422(client, ctx, path):
    staff = make_user(role=Role.ADMIN)
    response = client.get(path, headers=auth_headers(staff))
    assert response.status_code == 422, response.get_data()


@pytest.mark.parametrize("starts_at", ["9999-12-31T22:00:00+00:00", "0001-01-01T00:00:00+14:00"])
def test_instants_at_the_ends_of_the_calendar_are_422(client, ctx, starts_at):
    staff = make_user(role=Role.ADMIN)
    showtime = make_showtime()
    response = client.post("/api/admin/showtimes", headers=auth_headers(staff), json={
        "movie_id": showtime.movie_id, "screen_id": showtime.screen_id, "starts_at": starts_at})
    assert response.status_code == 422, response.get_data()
