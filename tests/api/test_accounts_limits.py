"""Rate limits on the account routes: 429 in the error shape with Retry-After, counted in Redis."""

from __future__ import annotations

import pytest

from tests.accounts_support import inbox_fixture  # noqa: F401  (the inbox fixture)
from tests.conftest import make_test_app
from tests.factories import make_user


def _send(client, email, ip="127.0.0.1", **kwargs):
    return client.post("/api/user/send-otp", json={"email": email}, environ_base={"REMOTE_ADDR": ip}, **kwargs)


def _assert_limited(response, reason: str | None = None) -> int:
    assert response.status_code == 429, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    if reason:
        assert error["details"]["reason"] == reason
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def test_resend_cooldown(client, ctx, inbox):
    assert _send(client, "a@example.com").status_code == 202
    retry_after = _assert_limited(_send(client, "a@example.com"), "otp_resend_cooldown")
    assert retry_after <= 60
    assert len(inbox.to("a@example.com")) == 1
    assert _send(client, "other@example.com").status_code == 202  # the cooldown is per address


def test_per_address_limit(app, client, ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN_S", 0)
    monkeypatch.setitem(app.config, "RATE_LIMIT_OTP_PER_ADDRESS", "2/hour")
    # From different IPs and with different spellings: the address is what is counted.
    assert _send(client, "b@example.com", ip="127.0.0.2").status_code == 202
    assert _send(client, " B@Example.com", ip="127.0.0.3").status_code == 202
    retry_after = _assert_limited(_send(client, "b@example.com", ip="127.0.0.4"))
    assert 3000 < retry_after <= 3601
    assert len(inbox.to("b@example.com")) == 2
    assert _send(client, "c@example.com", ip="127.0.0.5").status_code == 202


def test_per_ip_limit_uses_the_socket_address_not_x_forwarded_for(app, client, ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_OTP_PER_IP", "3/minute")
    for n in range(3):
        assert _send(client, f"ip{n}@example.com", ip="127.0.0.9").status_code == 202
    limited = _send(client, "ip3@example.com", ip="127.0.0.9")
    assert _assert_limited(limited) <= 60
    spoofed = _send(client, "ip4@example.com", ip="127.0.0.9", headers={"X-Forwarded-For": "10.1.2.3"})
    _assert_limited(spoofed)
    assert _send(client, "ip5@example.com", ip="127.0.0.10").status_code == 202
    assert inbox.to("ip3@example.com") == [] and inbox.to("ip4@example.com") == []


def test_forwarded_address_is_used_behind_a_trusted_proxy(ctx, monkeypatch):
    proxied = make_test_app(TRUSTED_PROXIES=1, RATE_LIMIT_OTP_PER_IP="1/minute", MAIL_SERVER=None)
    client = proxied.test_client()
    ok = client.post("/api/user/send-otp", json={"email": "p1@example.com"}, headers={"X-Forwarded-For": "10.0.0.1"})
    assert ok.status_code == 202
    limited = client.post("/api/user/send-otp", json={"email": "p2@example.com"},
                          headers={"X-Forwarded-For": "10.0.0.1"})
    _assert_limited(limited)
    other = client.post("/api/user/send-otp", json={"email": "p3@example.com"},
                        headers={"X-Forwarded-For": "10.0.0.2"})
    assert other.status_code == 202


def test_verify_limit(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_VERIFY_PER_IP", "4/minute")
    for _ in range(4):
        response = client.post("/api/user/verify-otp", json={"email": "v@example.com", "otp": "000000"})
        assert response.status_code == 400
    _assert_limited(client.post("/api/user/verify-otp", json={"email": "v@example.com", "otp": "000000"}))


def test_failed_logins_are_limited_per_account(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "3/15 minutes")
    make_user(email="target@example.com", password="right-password")
    make_user(email="busy@example.com", password="right-password")
    for n in range(3):
        wrong = client.post("/api/user/login", json={"email": "target@example.com", "password": "wrong-password"},
                            environ_base={"REMOTE_ADDR": f"127.0.1.{n}"})
        assert wrong.status_code == 401
    # Even the right password waits now, from any address and spelled either way.
    _assert_limited(client.post("/api/user/login", data={"username": "TARGET@example.com",
                                                         "password": "right-password"}))
    # Successful logins are not counted against an account.
    for _ in range(5):
        ok = client.post("/api/user/login", json={"email": "busy@example.com", "password": "right-password"})
        assert ok.status_code == 200


def test_logins_are_limited_per_ip(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_LOGIN_PER_IP", "3/minute")
    make_user(email="me@example.com", password="right-password")
    for _ in range(3):
        assert client.post("/api/user/login", json={"email": "me@example.com", "password": "right-password"}
                           ).status_code == 200
    _assert_limited(client.post("/api/user/login", json={"email": "me@example.com", "password": "right-password"}))


def test_counters_live_in_redis(client, ctx, redis_client):
    client.post("/api/user/login", json={"email": "x@example.com", "password": "whatever-pass"})
    assert any("LIMITS" in key for key in redis_client.scan_iter())


@pytest.mark.parametrize("value", ["junk", "5/fortnight"])
def test_bad_limit_settings_refuse_to_start(monkeypatch, value):
    from app.config import Config, ConfigError

    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_IP", value)
    with pytest.raises(ConfigError):
        Config()
