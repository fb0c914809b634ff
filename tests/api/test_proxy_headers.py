"""Behind the configured proxy (nginx sets Host, X-Forwarded-For and X-Forwarded-Proto, never
X-Forwarded-Host), a client's own X-Forwarded-Host must not change the host the app sees."""

from __future__ import annotations

from flask import request, url_for

from app.extensions import db
from tests.conftest import make_test_app


def test_forged_x_forwarded_host_is_ignored_behind_one_proxy(app):
    proxied = make_test_app(TRUSTED_PROXIES=1)

    @proxied.get("/_probe_host")
    def probe():  # type: ignore[no-untyped-def]
        return {"host": request.host, "url": url_for("probe", _external=True), "scheme": request.scheme,
                "remote": request.remote_addr}

    try:
        answer = proxied.test_client().get(
            "/_probe_host", headers={"Host": "cineverse.example", "X-Forwarded-Host": "evil.example",
                                     "X-Forwarded-For": "10.0.0.7", "X-Forwarded-Proto": "https"})
        body = answer.get_json()
        assert body["host"] == "cineverse.example"
        assert body["url"] == "https://cineverse.example/_probe_host"
        # the headers nginx does set still count
        assert body["remote"] == "10.0.0.7" and body["scheme"] == "https"
    finally:
        with proxied.app_context():
            db.engine.dispose()
