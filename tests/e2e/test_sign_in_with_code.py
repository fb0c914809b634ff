"""Signing in through the UI with a code mailed to the address instead of the password (real gunicorn,
real SMTP server on loopback, Debian's Chromium)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.factories import make_user
from tests.smtp_inbox import Inbox, smtp_server

pytestmark = pytest.mark.browser


@pytest.fixture()
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture()
def server_settings(inbox: Inbox) -> dict[str, str]:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(inbox.port), "MAIL_USE_TLS": "false",
            "OTP_RESEND_COOLDOWN_S": "0"}


def test_sign_in_with_a_mailed_code(app: Flask, server: str, browser, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with app.app_context():
        make_user(email="coder@example.com", name="Code Reader")
    page = browser.new_page()
    page.goto(f"{server}/signin")
    page.get_by_role("button", name="Email me a sign-in code instead").click()
    ask = page.get_by_role("form", name="Get a sign-in code")
    ask.get_by_label("Email", exact=True).fill("coder@example.com")
    ask.get_by_role("button", name="Email me a code").click()
    form = page.get_by_role("form", name="Sign in with your code")
    expect(form).to_be_visible()
    code = inbox.code_for("coder@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    form.get_by_label("6-digit code").fill(wrong)
    form.get_by_role("button", name="Sign in", exact=True).click()
    expect(form.get_by_role("alert")).to_contain_text("attempts left")
    form.get_by_label("6-digit code").fill(code)
    form.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.close()
