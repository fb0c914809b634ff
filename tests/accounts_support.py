"""Helpers for the account tests: a loopback SMTP inbox bound to the app and a full sign-up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.smtp_inbox import Inbox, smtp_server


@pytest.fixture(name="inbox")
def inbox_fixture(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Mail from the app goes to a real SMTP server on loopback."""
    with smtp_server() as server:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
        yield server


def sign_up(client: FlaskClient, inbox: Inbox, email: str, password: str = "s3cret-pass",
            name: str = "Asha") -> dict[str, Any]:
    """send-otp -> mailed code -> verify-otp -> register; the register response body."""
    assert client.post("/api/user/send-otp", json={"email": email}).status_code == 202
    code = inbox.code_for(email.strip().lower())
    verified = client.post("/api/user/verify-otp", json={"email": email, "otp": code})
    assert verified.status_code == 200, verified.get_json()
    token = verified.get_json()["registration_token"]
    registered = client.post("/api/user/register",
                             json={"registration_token": token, "name": name, "password": password})
    assert registered.status_code == 201, registered.get_json()
    return registered.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
