"""Security headers on every response (issue 16): the app's pages, the staff UI, the API (the hold lane's
answers and errors too), from one middleware; HSTS only in production; deploy/nginx.conf sends the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.headers import content_security_policy
from tests.conftest import make_test_app
from tests.factories import auth_headers, make_showtime, make_user

EXPECTED = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Referrer-Policy": "strict-origin-when-cross-origin"}


def _check(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.headers)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "https://checkout.razorpay.com" in csp  # Razorpay Checkout's script and frames still load
    assert "Strict-Transport-Security" not in response.headers  # not in production


@pytest.mark.parametrize("path", ["/", "/admin", "/showtimes/1", "/api/", "/api/health", "/api/movies",
                                  "/api/nope", "/api/openapi.json"])
def test_every_kind_of_response_carries_them(client, path):
    response = client.get(path)
    assert response.status_code < 500
    _check(response)
    if path != "/api/docs":
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_the_hold_lane_and_errors_carry_them(client, ctx):
    showtime = make_showtime()
    headers = auth_headers(make_user())
    held = client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["C1"]}, headers=headers)
    assert held.status_code == 200
    _check(held)
    refused = client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["Z99"]},
                          headers=headers)
    assert refused.status_code == 422
    _check(refused)
    _check(client.post("/api/payments/create-order", json={}))  # 401


def test_the_docs_page_alone_may_run_its_inline_script(client):
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert docs.headers["Content-Security-Policy"] == content_security_policy(inline_scripts=True)


def test_hsts_in_production_only(monkeypatch):
    from app.headers import SecurityHeaders

    seen: list[list[tuple[str, str]]] = []

    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    SecurityHeaders(inner, production=True)({"PATH_INFO": "/"}, lambda status, headers, exc=None: seen.append(headers))
    assert ("Strict-Transport-Security", "max-age=31536000; includeSubDomains") in seen[0]
    app = make_test_app()
    assert "Strict-Transport-Security" not in app.test_client().get("/api/").headers


def test_nginx_sends_the_same_set():
    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf").read_text()
    assert f'add_header Content-Security-Policy "{content_security_policy()}" always;' in conf
    for name, value in EXPECTED.items():
        assert f'add_header {name} "{value}" always;' in conf
