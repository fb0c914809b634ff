"""A body nested deeper than Python's JSON parser recurses is bad input (400), never a 500."""

from __future__ import annotations

import pytest

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
