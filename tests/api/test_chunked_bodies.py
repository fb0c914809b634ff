"""A body sent with Transfer-Encoding: chunked (no Content-Length) gets the same edge checks as one with
a length: NUL, lone surrogates and nesting too deep for the parser are 4xx, and MAX_CONTENT_LENGTH bounds
it. Sent to a real gunicorn, which is what hands the app a chunked body."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import DATABASE_URL, REDIS_URL
from tests.processes import gunicorn

DEEP = b"[" * 5000 + b"]" * 5000


@pytest.fixture(scope="module")
def server(app) -> Iterator[str]:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_EAGER": "true",
           "LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": "false"}
    with gunicorn(env, "--workers", "1", "--worker-class", "gthread", "--threads", "4") as port:
        yield f"http://127.0.0.1:{port}"


def _chunked(base: str, path: str, body: bytes, content_type: str = "application/json") -> requests.Response:
    def pieces() -> Iterator[bytes]:  # a generator body: requests sends it chunked, with no length
        for start in range(0, len(body), 4096):
            yield body[start:start + 4096]

    response = requests.post(base + path, data=pieces(), headers={"Content-Type": content_type}, timeout=30)
    assert "Content-Length" not in response.request.headers
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    return response


@pytest.mark.parametrize("path", ["/api/user/register", "/api/user/login", "/api/user/send-otp"])
def test_deep_nesting_sent_chunked_is_a_400(server, path):
    response = _chunked(server, path, DEEP)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("body", [
    b'{"email": "a@example.com", "password": "\\udc00 secret secret"}',
    b'{"email": "a\\u0000@example.com", "password": "secret secret"}',
    b'{"email": "a\x00@example.com", "password": "secret secret"}',
])
def test_unusable_text_sent_chunked_is_a_422(server, body):
    response = _chunked(server, "/api/user/login", body)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["code"] == "invalid_characters"


def test_nul_in_a_chunked_form_body_is_a_422(server):
    response = _chunked(server, "/api/user/login", b"username=a%00%40example.com&password=secret+secret",
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["code"] == "invalid_characters"


def test_a_chunked_body_past_max_content_length_is_a_413(server):
    body = b'{"email": "a@example.com", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = _chunked(server, "/api/user/login", body)
    assert response.status_code == 413, response.text[:300]


def test_a_plain_chunked_body_is_read(server):
    response = _chunked(server, "/api/user/login", b'{"email": "nobody@example.com", "password": "secret secret"}')
    assert response.status_code == 401, response.text[:300]
