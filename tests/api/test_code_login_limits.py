"""Guessing mailed codes: a daily budget of wrong codes per address that new codes do not reset, no
code login for staff, and per-IP limits that count an IPv6 client by its /64 network."""

from __future__ import annotations

import time

import pytest

from app.models import Role
from tests.accounts_support import bearer, inbox_fixture, sign_up  # noqa: F401  (the inbox fixture)
from tests.conftest import make_test_app
from tests.factories import make_user


def _send(client, email, **kwargs):
    return client.post("/api/user/send-otp", json={"email": email}, **kwargs)


def _login_code(client, email, code, **kwargs):
    return client.post("/api/user/login-otp", json={"email": email, "otp": code}, **kwargs)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture()
def many_codes(app, monkeypatch):
    """Codes may be asked for as often as the test likes: only the failure budget is left to stop it."""
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN_S", 0)
    monkeypatch.setitem(app.config, "RATE_LIMIT_OTP_PER_ADDRESS", "1000/hour")
    monkeypatch.setitem(app.config, "RATE_LIMIT_OTP_PER_IP", "1000/hour")
    monkeypatch.setitem(app.config, "RATE_LIMIT_VERIFY_PER_IP", "1000/hour")
    monkeypatch.setitem(app.config, "OTP_FAILURES_PER_DAY", 7)


def test_new_codes_do_not_reset_the_daily_budget_of_wrong_codes(app, client, ctx, inbox, many_codes, redis_client):
    sign_up(client, inbox, "target@example.com")
    sign_up(client, inbox, "bystander@example.com")
    lefts = []
    for wrong_guesses in (5, 2):  # a fresh code after the first was voided: its 5 tries are capped by the budget
        assert _send(client, "target@example.com").status_code == 202
        code = inbox.code_for("target@example.com")
        for _ in range(wrong_guesses):
            wrong = _login_code(client, "target@example.com", _wrong(code))
            assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "otp_invalid"
            lefts.append(wrong.get_json()["error"]["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0, 1, 0]

    # the budget is spent: even the right code of a new request waits, from any address and spelling
    assert _send(client, "target@example.com").status_code == 202
    code = inbox.code_for("target@example.com")
    locked = _login_code(client, "Target@Example.com", code, environ_base={"REMOTE_ADDR": "127.0.0.77"})
    assert locked.status_code == 429, locked.get_json()
    error = locked.get_json()["error"]
    assert error["code"] == "rate_limited" and error["details"]["reason"] == "otp_failure_budget"
    assert 86_000 < int(locked.headers["Retry-After"]) <= 86_400
    # the sign-up check of codes shares the budget (it is the same code)
    refused = client.post("/api/user/verify-otp", json={"email": "target@example.com", "otp": code})
    assert refused.status_code == 429
    # the refused code was not used up, other accounts are untouched, and the password still works
    assert _send(client, "bystander@example.com").status_code == 202
    assert _login_code(client, "bystander@example.com", inbox.code_for("bystander@example.com")).status_code == 200
    assert client.post("/api/user/login", json={"email": "target@example.com", "password": "s3cret-pass"}
                       ).status_code == 200
    # the count lives in Redis under a keyed hash of the address, not the address
    [key] = [k for k in redis_client.scan_iter("*otp:failures:*")]
    assert "target" not in key and int(redis_client.get(key)) == 7

    # once the window has passed (here: made to pass), the right code works again
    redis_client.expire(key, 1)
    time.sleep(1.2)
    tokens = _login_code(client, "target@example.com", code)
    assert tokens.status_code == 200, tokens.get_json()


def test_wrong_codes_on_sign_up_count_too(app, client, ctx, inbox, many_codes):
    for _ in range(2):
        assert _send(client, "claim@example.com").status_code == 202
        code = inbox.code_for("claim@example.com")
        for _ in range(4):
            client.post("/api/user/verify-otp", json={"email": "claim@example.com", "otp": _wrong(code)})
    assert _send(client, "claim@example.com").status_code == 202
    locked = client.post("/api/user/verify-otp", json={"email": "claim@example.com",
                                                        "otp": inbox.code_for("claim@example.com")})
    assert locked.status_code == 429 and locked.get_json()["error"]["details"]["reason"] == "otp_failure_budget"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERADMIN])
def test_staff_cannot_log_in_with_a_code(app, client, ctx, inbox, many_codes, role):
    make_user(role=role, email="staff@example.com", password="staff-password")
    assert _send(client, "staff@example.com").status_code == 202
    code = inbox.code_for("staff@example.com")
    # a wrong code is answered as for anyone, so the answer does not tell staff apart
    wrong = _login_code(client, "staff@example.com", _wrong(code))
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "otp_invalid"
    refused = _login_code(client, "staff@example.com", code)
    assert _send(client, "nobody@example.com").status_code == 202
    nobody = _login_code(client, "nobody@example.com", inbox.code_for("nobody@example.com"))
    assert refused.status_code == nobody.status_code == 401
    assert refused.get_json() == nobody.get_json()
    assert refused.get_json()["error"]["code"] == "invalid_credentials"
    password = client.post("/api/user/login", json={"email": "staff@example.com", "password": "staff-password"})
    assert password.status_code == 200
    assert client.get("/api/user/me", headers=bearer(password.get_json()["access_token"])).get_json()["role"] \
        == role.value


def test_ipv6_clients_are_counted_by_their_64_network(app, client, ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_OTP_PER_IP", "2/minute")

    def send(n, ip):
        return _send(client, f"v6-{n}@example.com", environ_base={"REMOTE_ADDR": ip})

    assert send(1, "2001:db8:1:2::1").status_code == 202
    assert send(2, "2001:db8:1:2:ffff:ffff:ffff:fffe").status_code == 202
    third = send(3, "2001:db8:1:2:abcd::9")  # a new address of the same /64: the same client
    assert third.status_code == 429 and third.get_json()["error"]["code"] == "rate_limited"
    assert send(4, "2001:db8:1:3::1").status_code == 202  # the next /64 is another client
    # IPv4 stays the address (an IPv4-mapped IPv6 address is that IPv4 address)
    assert send(5, "127.0.0.20").status_code == 202
    assert send(6, "::ffff:127.0.0.20").status_code == 202
    assert send(7, "127.0.0.20").status_code == 429
    assert send(8, "127.0.0.21").status_code == 202


def test_forwarded_ipv6_addresses_are_counted_by_network_behind_a_trusted_proxy(ctx):
    proxied = make_test_app(TRUSTED_PROXIES=1, RATE_LIMIT_OTP_PER_IP="1/minute", MAIL_SERVER=None)
    client = proxied.test_client()
    first = _send(client, "f1@example.com", headers={"X-Forwarded-For": "2001:db8:aa:bb::1"})
    assert first.status_code == 202
    same_net = _send(client, "f2@example.com", headers={"X-Forwarded-For": "2001:db8:aa:bb::2"})
    assert same_net.status_code == 429
    assert _send(client, "f3@example.com", headers={"X-Forwarded-For": "2001:db8:aa:bc::1"}).status_code == 202
