"""Accounts over HTTP on real PostgreSQL + Redis, with codes read from a real SMTP server on loopback."""

from __future__ import annotations

import logging
import re
import threading
import time

import sqlalchemy as sa
from sqlalchemy import event

from app.extensions import db, get_redis
from app.models import RevokedToken, Role, User
from app.services import auth, revocation
from tests.accounts_support import bearer, inbox_fixture, sign_up  # noqa: F401  (the inbox fixture)
from tests.factories import make_showtime, make_user


def _send(client, email, **kwargs):
    return client.post("/api/user/send-otp", json={"email": email}, **kwargs)


def _verify(client, email, code, **kwargs):
    return client.post("/api/user/verify-otp", json={"email": email, "otp": code}, **kwargs)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# ---------------------------------------------------------------- sign-up and login


def test_full_sign_up_then_login_with_json_and_oauth2_form(client, ctx, inbox):
    response = _send(client, "  Asha@Example.COM ")
    assert response.status_code == 202
    assert response.get_json() == {"status": "sent", "expires_in": 300, "resend_after": 60}
    [message] = inbox.to("asha@example.com")
    assert "CineVerse" in message["Subject"]
    code = inbox.code_for("asha@example.com")
    assert code not in message["Subject"]

    verified = _verify(client, "asha@example.com", code)
    assert verified.status_code == 200
    body = verified.get_json()
    assert body["token_type"] == "registration" and body["email"] == "asha@example.com"
    assert 0 < body["expires_in"] <= 900

    registered = client.post("/api/user/register", json={
        "registration_token": body["registration_token"], "name": "  Asha ", "password": "s3cret-pass"})
    assert registered.status_code == 201
    data = registered.get_json()
    assert data["user"]["email"] == "asha@example.com" and data["user"]["name"] == "Asha"
    assert data["user"]["role"] == "user"
    assert "password" not in data["user"] and "password_hash" not in data["user"]
    assert data["token_type"] == "bearer" and data["expires_in"] == 900
    user = db.session.scalar(sa.select(User).where(User.email == "asha@example.com"))
    assert user.password_hash.startswith("$argon2id$")

    me = client.get("/api/user/me", headers=bearer(data["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == user.id

    as_json = client.post("/api/user/login", json={"email": "ASHA@example.com", "password": "s3cret-pass"})
    assert as_json.status_code == 200
    assert set(as_json.get_json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    as_form = client.post("/api/user/login", data={"username": "asha@example.com", "password": "s3cret-pass",
                                                   "grant_type": "password"})
    assert as_form.status_code == 200, as_form.get_json()
    me = client.get("/api/user/me", headers=bearer(as_form.get_json()["access_token"]))
    assert me.get_json()["email"] == "asha@example.com"


def test_wrong_password_and_unknown_user_get_the_same_401(client, ctx):
    make_user(email="known@example.com", password="right-password")
    wrong = client.post("/api/user/login", json={"email": "known@example.com", "password": "wrong-password"})
    unknown = client.post("/api/user/login", json={"email": "nobody@example.com", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_deactivated_user_cannot_log_in(client, ctx):
    user = make_user(email="gone@example.com", password="right-password")
    user.is_active = False
    db.session.commit()
    response = client.post("/api/user/login", json={"email": "gone@example.com", "password": "right-password"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_credentials"


def test_login_with_a_mailed_code_instead_of_a_password(app, client, ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN_S", 0)
    sign_up(client, inbox, "codes@example.com")

    def login_code(email, code):
        return client.post("/api/user/login-otp", json={"email": email, "otp": code})

    assert _send(client, "Codes@Example.com").status_code == 202
    code = inbox.code_for("codes@example.com")
    wrong = login_code("codes@example.com", _wrong(code))
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "otp_invalid"
    tokens = login_code("codes@example.com", code)
    assert tokens.status_code == 200, tokens.get_json()
    me = client.get("/api/user/me", headers=bearer(tokens.get_json()["access_token"]))
    assert me.status_code == 200 and me.get_json()["email"] == "codes@example.com"
    again = login_code("codes@example.com", code)  # single use
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "otp_expired"
    # a right code for an address without an account, or a suspended one: the 401 a wrong password gets
    assert _send(client, "nobody@example.com").status_code == 202
    nobody = login_code("nobody@example.com", inbox.code_for("nobody@example.com"))
    assert nobody.status_code == 401 and nobody.get_json()["error"]["code"] == "invalid_credentials"
    db.session.execute(sa.update(User).where(User.email == "codes@example.com").values(is_active=False))
    db.session.commit()
    assert _send(client, "codes@example.com").status_code == 202
    suspended = login_code("codes@example.com", inbox.code_for("codes@example.com"))
    assert suspended.status_code == 401 and suspended.get_json()["error"]["code"] == "invalid_credentials"
    for bad in ({"email": "codes@example.com"}, {"email": "x", "otp": "123456"}, {"email": "a@b.c", "otp": "12a456"}):
        assert client.post("/api/user/login-otp", json=bad).status_code == 422


def test_login_body_is_validated(client, ctx):
    response = client.post("/api/user/login", json={"password": "x"})
    assert response.status_code == 422
    assert "username" in response.get_json()["error"]["details"]["fields"]


# ---------------------------------------------------------------- codes


def test_wrong_code_then_right_code_then_reuse(client, ctx, inbox):
    _send(client, "b@example.com")
    code = inbox.code_for("b@example.com")
    wrong = _verify(client, "b@example.com", _wrong(code))
    assert wrong.status_code == 400
    assert wrong.get_json()["error"]["code"] == "otp_invalid"
    assert wrong.get_json()["error"]["details"]["attempts_left"] == 4
    assert _verify(client, "b@example.com", code).status_code == 200
    reused = _verify(client, "b@example.com", code)
    assert reused.status_code == 400 and reused.get_json()["error"]["code"] == "otp_expired"


def test_code_without_request_and_for_another_address(client, ctx, inbox):
    assert _verify(client, "never@example.com", "123456").get_json()["error"]["code"] == "otp_expired"
    _send(client, "c@example.com")
    code = inbox.code_for("c@example.com")
    other = _verify(client, "d@example.com", code)
    assert other.status_code == 400 and other.get_json()["error"]["code"] == "otp_expired"


def test_code_is_void_after_five_wrong_tries(client, ctx, inbox):
    _send(client, "e@example.com")
    code = inbox.code_for("e@example.com")
    lefts = [_verify(client, "e@example.com", _wrong(code)).get_json()["error"]["details"]["attempts_left"]
             for _ in range(5)]
    assert lefts == [4, 3, 2, 1, 0]
    after = _verify(client, "e@example.com", code)
    assert after.status_code == 400 and after.get_json()["error"]["code"] == "otp_expired"


def test_expired_code_is_refused(app, client, ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_TTL_S", 1)
    _send(client, "f@example.com")
    code = inbox.code_for("f@example.com")
    time.sleep(1.3)
    expired = _verify(client, "f@example.com", code)
    assert expired.status_code == 400 and expired.get_json()["error"]["code"] == "otp_expired"


def test_new_code_replaces_the_old_one(app, client, ctx, inbox, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN_S", 0)
    _send(client, "g@example.com")
    first = inbox.code_for("g@example.com")
    _send(client, "g@example.com")
    second = inbox.code_for("g@example.com")
    assert len(inbox.to("g@example.com")) == 2
    if first != second:  # one in a million they coincide
        assert _verify(client, "g@example.com", first).get_json()["error"]["code"] == "otp_invalid"
    assert _verify(client, "g@example.com", second).status_code == 200


def test_codes_are_stored_hashed_with_a_ttl(client, ctx, inbox, redis_client):
    _send(client, "h@example.com")
    code = inbox.code_for("h@example.com")
    keys = [k for k in redis_client.scan_iter(match="*otp:code:*")]
    assert len(keys) == 1 and "h@example.com" not in keys[0]
    stored = redis_client.hgetall(keys[0])
    assert code not in str(stored) and len(stored["h"]) == 64
    assert 0 < redis_client.ttl(keys[0]) <= 300
    for key in redis_client.scan_iter():
        assert code not in key and code not in str(redis_client.dump(key) or b"")


def test_embedded_default_without_mail_server_logs_the_code(app, client, ctx, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    # Alembic's fileConfig (the session fixture runs the migrations) disables loggers that existed before it.
    monkeypatch.setattr(logging.getLogger("app.services.mail"), "disabled", False)
    with caplog.at_level(logging.WARNING, logger="app.services.mail"):
        assert _send(client, "log@example.com").status_code == 202
    match = re.search(r"code is (\d{6})", caplog.text)
    assert match, caplog.text
    assert _verify(client, "log@example.com", match.group(1)).status_code == 200


def test_smtp_refusal_is_retried_then_given_up_without_failing_the_request(client, ctx, inbox):
    inbox.refuse = True
    assert _send(client, "refused@example.com").status_code == 202
    assert inbox.to("refused@example.com") == []
    inbox.refuse = False


# ---------------------------------------------------------------- registration


def test_register_refuses_a_role_and_always_makes_a_plain_user(client, ctx, inbox):
    _send(client, "role@example.com")
    token = _verify(client, "role@example.com", inbox.code_for("role@example.com")).get_json()["registration_token"]
    for role in ("superadmin", "admin"):
        refused = client.post("/api/user/register", json={"registration_token": token, "name": "R",
                                                          "password": "s3cret-pass", "role": role})
        assert refused.status_code == 422
        assert "role" in refused.get_json()["error"]["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    ok = client.post("/api/user/register", json={"registration_token": token, "name": "R", "password": "s3cret-pass"})
    assert ok.status_code == 201 and ok.get_json()["user"]["role"] == "user"
    assert db.session.scalar(sa.select(User.role).where(User.email == "role@example.com")) is Role.USER


def test_register_validation_and_conflicts(client, ctx, inbox):
    make_user(email="taken@example.com")
    _send(client, "taken@example.com")
    token = _verify(client, "taken@example.com", inbox.code_for("taken@example.com")).get_json()["registration_token"]
    short = client.post("/api/user/register", json={"registration_token": token, "name": "T", "password": "short"})
    assert short.status_code == 422 and "password" in short.get_json()["error"]["details"]["fields"]
    taken = client.post("/api/user/register", json={"registration_token": token, "name": "T",
                                                    "password": "long-enough"})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "email_taken"


def test_registration_token_is_single_use(client, ctx, inbox):
    _send(client, "once@example.com")
    token = _verify(client, "once@example.com", inbox.code_for("once@example.com")).get_json()["registration_token"]
    body = {"registration_token": token, "name": "O", "password": "s3cret-pass"}
    assert client.post("/api/user/register", json=body).status_code == 201
    db.session.execute(sa.delete(User).where(User.email == "once@example.com"))
    db.session.commit()
    again = client.post("/api/user/register", json=body)
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "registration_token_invalid"


def test_registration_token_is_accepted_nowhere_else(client, ctx, inbox):
    _send(client, "reg@example.com")
    token = _verify(client, "reg@example.com", inbox.code_for("reg@example.com")).get_json()["registration_token"]
    assert client.get("/api/user/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/user/refresh", headers=bearer(token)).status_code == 401
    assert client.post("/api/user/logout", headers=bearer(token)).status_code == 401
    showtime = make_showtime()
    assert client.get(f"/api/showtimes/{showtime.id}/seats", headers=bearer(token)).status_code == 401
    # ...and an access token is no registration token
    user = make_user()
    access = auth.token_pair(user)["access_token"]
    refused = client.post("/api/user/register", json={"registration_token": access, "name": "X",
                                                      "password": "s3cret-pass"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "registration_token_invalid"


# ---------------------------------------------------------------- sessions


def test_logout_revokes_the_token_everywhere(client, ctx, inbox):
    tokens = sign_up(client, inbox, "out@example.com")
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    showtime = make_showtime()
    assert client.get(f"/api/showtimes/{showtime.id}/seats", headers=bearer(access)).status_code == 200
    out = client.post("/api/user/logout", headers=bearer(access), json={"refresh_token": refresh})
    assert out.status_code == 204
    for response in (client.get("/api/user/me", headers=bearer(access)),
                     client.post("/api/user/logout", headers=bearer(access)),
                     client.get(f"/api/showtimes/{showtime.id}/seats", headers=bearer(access)),
                     client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", headers=bearer(access),
                                 json={"seat_ids": ["A5"]}),
                     client.post("/api/user/refresh", headers=bearer(refresh))):
        assert response.status_code == 401, response.get_json()
        assert response.get_json()["error"]["code"] == "token_revoked"
    rows = db.session.scalars(sa.select(RevokedToken)).all()
    assert sorted(r.token_type for r in rows) == ["access", "family", "refresh"]
    # A fresh login still works.
    again = client.post("/api/user/login", json={"email": "out@example.com", "password": "s3cret-pass"})
    assert client.get("/api/user/me", headers=bearer(again.get_json()["access_token"])).status_code == 200


def test_logout_refuses_someone_elses_refresh_token(client, ctx):
    mine, theirs = make_user(), make_user()
    response = client.post("/api/user/logout", headers=bearer(auth.token_pair(mine)["access_token"]),
                           json={"refresh_token": auth.token_pair(theirs)["refresh_token"]})
    assert response.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RevokedToken)) == 0


def test_refresh_rotates_and_the_old_refresh_token_is_refused(client, ctx, inbox):
    tokens = sign_up(client, inbox, "rot@example.com")
    first = client.post("/api/user/refresh", headers=bearer(tokens["refresh_token"]))
    assert first.status_code == 200
    pair = first.get_json()
    assert pair["token_type"] == "bearer" and pair["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/user/me", headers=bearer(pair["access_token"])).status_code == 200
    old = client.post("/api/user/refresh", headers=bearer(tokens["refresh_token"]))
    assert old.status_code == 401 and old.get_json()["error"]["code"] == "token_revoked"
    via_body = client.post("/api/user/refresh", json={"refresh_token": pair["refresh_token"]})
    assert via_body.status_code == 200, via_body.get_json()
    # An access token is not a refresh token, nor the other way round.
    assert client.post("/api/user/refresh", headers=bearer(pair["access_token"])).status_code == 401
    assert client.get("/api/user/me", headers=bearer(pair["refresh_token"])).status_code == 401


def _rotated_long_ago(refresh_token: str) -> None:
    """Move a rotated refresh token's revocation out of the reuse grace window."""
    from flask_jwt_extended import decode_token

    jti = decode_token(refresh_token, allow_expired=True)["jti"]
    db.session.execute(sa.update(RevokedToken).where(RevokedToken.jti == jti)
                       .values(revoked_at=RevokedToken.revoked_at - sa.text("interval '1 minute'")))
    db.session.commit()


def test_a_refresh_token_reused_after_rotation_ends_its_whole_session(client, ctx, inbox, caplog, monkeypatch):
    # Alembic's fileConfig (the session fixture runs the migrations) disables loggers that existed before it.
    monkeypatch.setattr(logging.getLogger("app.services.revocation"), "disabled", False)
    tokens = sign_up(client, inbox, "reuse@example.com")
    other = client.post("/api/user/login", json={"email": "reuse@example.com", "password": "s3cret-pass"}).get_json()
    stolen = tokens["refresh_token"]
    rotated = client.post("/api/user/refresh", headers=bearer(stolen))  # the thief refreshes first
    assert rotated.status_code == 200
    newer = rotated.get_json()["refresh_token"]
    _rotated_long_ago(stolen)
    with caplog.at_level(logging.WARNING, logger="app.services.revocation"):
        again = client.post("/api/user/refresh", headers=bearer(stolen))  # the owner's copy comes back
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "token_revoked"
    assert "refresh token reused after rotation" in caplog.text
    # the successor the thief holds is dead too, whichever way it is sent
    for response in (client.post("/api/user/refresh", headers=bearer(newer)),
                     client.post("/api/user/refresh", json={"refresh_token": newer})):
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
    # ...and it stays dead after Redis forgets (the family is in the database)
    get_redis().flushdb()
    assert client.post("/api/user/refresh", headers=bearer(newer)).status_code == 401
    # another sign-in of the same user is its own session
    assert client.post("/api/user/refresh", headers=bearer(other["refresh_token"])).status_code == 200


def test_a_refresh_token_reused_within_the_grace_window_is_only_refused(client, ctx, inbox):
    """Two tabs refreshing with one token at once: the loser gets 401, the winner's session lives on."""
    tokens = sign_up(client, inbox, "tabs@example.com")
    first = client.post("/api/user/refresh", headers=bearer(tokens["refresh_token"]))
    second = client.post("/api/user/refresh", headers=bearer(tokens["refresh_token"]))
    assert (first.status_code, second.status_code) == (200, 401)
    assert client.post("/api/user/refresh", headers=bearer(first.get_json()["refresh_token"])).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RevokedToken)
                             .where(RevokedToken.token_type == "family")) == 0


def test_logout_ends_the_sessions_refresh_tokens_even_when_not_sent(client, ctx, inbox):
    tokens = sign_up(client, inbox, "bye@example.com")
    other = client.post("/api/user/login", json={"email": "bye@example.com", "password": "s3cret-pass"}).get_json()
    refreshed = client.post("/api/user/refresh", headers=bearer(tokens["refresh_token"])).get_json()
    assert client.post("/api/user/logout", headers=bearer(refreshed["access_token"])).status_code == 204
    response = client.post("/api/user/refresh", headers=bearer(refreshed["refresh_token"]))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
    assert client.post("/api/user/refresh", headers=bearer(other["refresh_token"])).status_code == 200


def test_tokens_without_a_family_still_work(client, ctx):
    """Tokens issued before sessions had families: refresh and logout as before."""
    from flask_jwt_extended import create_access_token, create_refresh_token

    user = make_user()
    refresh = create_refresh_token(identity=str(user.id))
    pair = client.post("/api/user/refresh", headers=bearer(refresh))
    assert pair.status_code == 200 and client.post("/api/user/refresh", headers=bearer(refresh)).status_code == 401
    access = create_access_token(identity=str(user.id))
    assert client.post("/api/user/logout", headers=bearer(access)).status_code == 204
    assert client.get("/api/user/me", headers=bearer(access)).status_code == 401


def test_concurrent_refreshes_with_one_token_have_one_winner(app, ctx):
    user = make_user()
    refresh = auth.token_pair(user)["refresh_token"]
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        barrier.wait()
        statuses.append(app.test_client().post("/api/user/refresh", headers=bearer(refresh)).status_code)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 5


def test_revocation_check_reads_redis_only_and_rebuilds_from_the_database(app, client, ctx, redis_client):
    user = make_user()
    tokens = auth.token_pair(user)
    assert client.post("/api/user/logout", headers=bearer(tokens["access_token"])).status_code == 204
    live = auth.token_pair(user)["access_token"]
    assert client.get("/api/user/me", headers=bearer(live)).status_code == 200  # warms the cache

    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        from flask_jwt_extended import decode_token

        jti_live = decode_token(live)["jti"]
        assert revocation.is_token_revoked(jti_live) is False
        assert statements == []
        # Redis lost everything (restart): the revocation comes back from the database.
        redis_client.flushdb()
        assert client.get("/api/user/me", headers=bearer(tokens["access_token"])).status_code == 401
        assert any("revoked_tokens" in s for s in statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_me_for_a_deleted_user_is_401(client, ctx):
    user = make_user()
    headers = bearer(auth.token_pair(user)["access_token"])
    db.session.execute(sa.delete(User).where(User.id == user.id))
    db.session.commit()
    response = client.get("/api/user/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "account_inactive"


def test_token_errors_use_the_error_shape(client, ctx):
    missing = client.get("/api/user/me")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "unauthorized"
    garbage = client.get("/api/user/me", headers=bearer("not-a-jwt"))
    assert garbage.status_code == 401 and garbage.get_json()["error"]["code"] == "invalid_token"



def test_expired_revocations_are_purged_and_live_ones_kept(app, ctx):
    from datetime import datetime, timedelta, timezone

    user = make_user()
    now = datetime.now(timezone.utc)
    db.session.add_all([
        RevokedToken(jti="old", token_type="access", user_id=user.id, expires_at=now - timedelta(minutes=1)),
        RevokedToken(jti="live", token_type="refresh", user_id=user.id, expires_at=now + timedelta(days=1)),
    ])
    db.session.commit()
    task = app.extensions["celery"].tasks["workers.accounts.purge_revoked_tokens"]
    assert task.apply().get() == 1
    db.session.expire_all()
    assert db.session.scalars(sa.select(RevokedToken.jti)).all() == ["live"]


def test_phone_is_optional_validated_and_unique(client, ctx, inbox):
    make_user().phone = "+919812345678"
    db.session.commit()
    _send(client, "ph@example.com")
    token = _verify(client, "ph@example.com", inbox.code_for("ph@example.com")).get_json()["registration_token"]
    body = {"registration_token": token, "name": "P", "password": "s3cret-pass"}
    assert client.post("/api/user/register", json={**body, "phone": "12345"}).status_code == 422
    taken = client.post("/api/user/register", json={**body, "phone": "+919812345678"})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "phone_taken"
    ok = client.post("/api/user/register", json={**body, "phone": "+919800000001"})
    assert ok.status_code == 201 and ok.get_json()["user"]["phone"] == "+919800000001"
