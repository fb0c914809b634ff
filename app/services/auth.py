"""Accounts: registration, login, token issue, refresh rotation and revocation.

Access and refresh tokens are flask-jwt-extended JWTs (HS256, JWT_SECRET_KEY, identity `str(user.id)`).
A revoked token is a row in `revoked_tokens` (the truth) mirrored in Redis; the blocklist check reads
Redis only, so a normal request costs no query. The Redis mirror is complete once a "warm" marker is
set (it is rebuilt from the database whenever the marker is missing, e.g. after a Redis restart), and
the check falls back to the database while Redis is down.

The registration token (issued after a verified sign-up code) is a separate JWT: signed with a key
derived from JWT_SECRET_KEY, with its own audience and type, so no JWT-protected route accepts it and
it cannot pass for an access token; it is single use.

Sessions: every token of one sign-in carries the same family id (`fam`), kept across refreshes. Logout
ends the family, so the session's refresh tokens die even when the client does not send them; a rotated
refresh token presented again after REFRESH_REUSE_GRACE_S means two parties hold the session (a stolen
token), so the family ends too and the thief's newer refresh token with it (OAuth 2.0 Security BCP,
refresh token rotation with reuse detection). A family is revoked as a `revoked_tokens` row whose jti is
`fam:<id>`; only refresh tokens are checked against it (access tokens live minutes, and the hot routes
keep their one Redis step).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import jwt as pyjwt
import redis.exceptions
import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_limiter import RateLimitExceeded
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, TooManyRequests, Unauthorized, error_response
from app.extensions import db, get_redis, jwt, limiter
from app.models import RevokedToken, Role, User
from app.services.otp import normalize_email, verify_code
from app.services.passwords import hash_password, verify_password
from app.services.seats.scripts import GuardRefused
from app.services.uow import after_commit

log = logging.getLogger(__name__)

REGISTRATION_AUDIENCE = "cineverse:register"
REGISTRATION_TYPE = "registration"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "The email or password is not correct."


class RegistrationTokenInvalid(Unauthorized):
    code = "registration_token_invalid"
    message = "The registration token is invalid, expired or already used; verify a new code."


# ---------------------------------------------------------------- tokens


def token_pair(user: User, family: str | None = None) -> dict[str, Any]:
    """A fresh access + refresh token for user, in the API's token response shape; a new session
    (token family) unless `family` continues one."""
    identity = str(user.id)
    claims = {"fam": family or uuid.uuid4().hex}
    return {
        "access_token": create_access_token(identity=identity, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=identity, additional_claims=claims),
        "token_type": "bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }


def _registration_key() -> bytes:
    secret = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(secret, b"cineverse-registration-token", hashlib.sha256).digest()


def registration_token(email: str) -> dict[str, Any]:
    """A short-lived token proving the caller verified a code sent to email."""
    ttl = int(current_app.config["REGISTRATION_TOKEN_TTL_S"])
    now = datetime.now(timezone.utc)
    claims = {"sub": email, "type": REGISTRATION_TYPE, "aud": REGISTRATION_AUDIENCE, "iat": now,
              "exp": now + timedelta(seconds=ttl), "jti": uuid.uuid4().hex}
    return {"registration_token": pyjwt.encode(claims, _registration_key(), algorithm="HS256"),
            "token_type": REGISTRATION_TYPE, "expires_in": ttl, "email": email}


def _read_registration_token(token: str) -> dict[str, Any]:
    try:
        claims = pyjwt.decode(token, _registration_key(), algorithms=["HS256"], audience=REGISTRATION_AUDIENCE,
                              options={"require": ["exp", "iat", "sub", "jti", "aud"]})
    except pyjwt.PyJWTError as exc:
        raise RegistrationTokenInvalid(details={"reason": str(exc)}) from exc
    if claims.get("type") != REGISTRATION_TYPE:
        raise RegistrationTokenInvalid(details={"reason": "wrong token type"})
    return claims


def _prefix() -> str:
    return f"{current_app.config['SEAT_LOCK_PREFIX']}:auth"


# ---------------------------------------------------------------- accounts


def register(token: str, name: str, password: str, phone: str | None = None) -> User:
    """Create a plain user for the email the registration token proves (flushes, never commits).

    Raises RegistrationTokenInvalid (401) for a bad, expired or used token and Conflict `email_taken` /
    `phone_taken` (409). The role is always `user`; staff roles are granted by a superadmin.
    """
    claims = _read_registration_token(token)
    email = normalize_email(claims["sub"])
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists; log in instead.", code="email_taken")
    if phone and db.session.scalar(sa.select(User.id).where(User.phone == phone)) is not None:
        raise Conflict("An account with this phone number already exists.", code="phone_taken")
    remaining = max(1, int(claims["exp"]) - int(time.time()))
    if not get_redis().set(f"{_prefix()}:registration-used:{claims['jti']}", "1", nx=True, ex=remaining):
        raise RegistrationTokenInvalid(details={"reason": "already used"})
    user = User(email=email, name=name.strip(), phone=phone, role=Role.USER, is_active=True,
                password_hash=hash_password(password))
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email or phone won
        raise Conflict("An account with this email or phone already exists.", code="email_taken") from exc
    log.info("user %s registered", user.id)
    return user


def authenticate(email: str, password: str) -> User:
    """The active user with this email and password. Raises InvalidCredentials (401), the same for an
    unknown email, a wrong password or a deactivated account (and with the same work)."""
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise InvalidCredentials()
    return user


def authenticate_by_code(email: str, code: str) -> User:
    """The active plain user with this email, whose one-time code (from /send-otp) is right; the code is
    used up either way. Raises otp errors (400) for a wrong or expired code, TooManyRequests (429) while
    the address's daily budget of wrong codes is spent, and InvalidCredentials (401) when no active
    account has the address (as /login does, so neither route tells who has an account).

    Staff sign in with their password only: a mailbox is a weaker key than a staff account deserves. A
    right code for a staff address gets the 401 of an address without an account, and a wrong one the
    usual 400, so the answers do not tell staff addresses apart."""
    address = verify_code(email, code)
    user = db.session.scalar(sa.select(User).where(User.email == address))
    if user is None or not user.is_active or user.role.is_staff:
        raise InvalidCredentials()
    return user


def user_from_identity(identity: object) -> User:
    """The active user a token names. Raises Unauthorized when it is gone or deactivated."""
    try:
        user_id = int(str(identity))
    except ValueError as exc:
        raise Unauthorized("The token does not name a user.", code="invalid_token") from exc
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("This account no longer exists or is deactivated.", code="account_inactive")
    return user


# ---------------------------------------------------------------- revocation


def _revoked_key(jti: str) -> str:
    return f"{_prefix()}:revoked:{jti}"


def _warm_key() -> str:
    return f"{_prefix()}:revoked:warm"


def revoke(payload: dict[str, Any]) -> bool:
    """Revoke the decoded token `payload` until it expires (flushes, never commits).

    Returns False when it was already revoked (a concurrent logout or refresh got there first). Redis is
    written first: if the commit then fails the token is only dead early, never alive after logout.
    """
    expires_at = datetime.fromtimestamp(int(payload["exp"]), tz=timezone.utc)
    return _revoke_jti(str(payload["jti"]), str(payload.get("type", "access")), payload.get("sub"), expires_at)


def _family_jti(family: str) -> str:
    return f"fam:{family}"


def revoke_family(payload: dict[str, Any]) -> bool:
    """End the session (token family) of the decoded token `payload`: its refresh tokens, issued or yet
    to be presented, are refused from now on (flushes, never commits). False when the token has no
    family (issued before families existed) or the family was ended already."""
    family = payload.get("fam")
    if not isinstance(family, str) or not family:
        return False
    # no token of the family outlives the newest refresh token, which expires within this
    expires_at = datetime.now(timezone.utc) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    return _revoke_jti(_family_jti(family), "family", payload.get("sub"), expires_at)


def _user_jti(user_id: int) -> str:
    return f"user:{user_id}"


def suspend_user(user: User) -> None:
    """Every token of user is refused from now on, on every route (flushes, never commits; the caller
    also marks the user inactive, which keeps login and refresh closed). The mark outlives the longest
    token: after that no token issued before the suspension is left, and no new one can be issued.
    Redis gets a short mark at once and the full one after the commit, so a failed commit locks the
    user out for a minute at most."""
    jti = _user_jti(user.id)
    expires_at = datetime.now(timezone.utc) + max(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
                                                  current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])
    db.session.execute(sa.delete(RevokedToken).where(RevokedToken.jti == jti))  # a mark of an earlier suspension
    _revoke_jti(jti, "user", user.id, expires_at, redis_ttl=60)
    key, ttl = _revoked_key(jti), max(1, int(expires_at.timestamp() - time.time()))
    after_commit(lambda: get_redis().set(key, "1", ex=ttl))


def restore_user(user: User) -> None:
    """Undo suspend_user (flushes, never commits): tokens issued before the suspension that have not
    expired work again. Redis forgets the mark only after the commit (until then the user stays out)."""
    jti = _user_jti(user.id)
    db.session.execute(sa.delete(RevokedToken).where(RevokedToken.jti == jti))
    key = _revoked_key(jti)
    after_commit(lambda: get_redis().delete(key))


def _revoke_jti(jti: str, token_type: str, subject: object, expires_at: datetime,
                redis_ttl: int | None = None) -> bool:
    ttl = max(1, int(expires_at.timestamp() - time.time()))
    get_redis().set(_revoked_key(jti), "1", ex=min(ttl, redis_ttl or ttl))
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    user_id = int(str(subject)) if str(subject or "").isdigit() else None
    stmt = (insert(RevokedToken)
            .values(jti=jti, token_type=token_type, user_id=user_id,
                    expires_at=expires_at, revoked_at=datetime.now(timezone.utc))
            .on_conflict_do_nothing(index_elements=["jti"]).returning(RevokedToken.id))
    return db.session.execute(stmt).scalar() is not None


def revoke_encoded_refresh(token: str, user_id: str) -> None:
    """Revoke a refresh token given at logout, if it is a valid refresh token of the same user.

    Raises Unauthorized `invalid_token` otherwise (so a client learns its logout was incomplete).
    """
    try:
        payload = decode_token(token, allow_expired=True)
    except Exception as exc:  # noqa: BLE001 - any decode failure is the client's bad token
        raise Unauthorized("The refresh token is not valid.", code="invalid_token") from exc
    if payload.get("type") != "refresh" or str(payload.get("sub")) != str(user_id):
        raise Unauthorized("The refresh token is not valid.", code="invalid_token")
    if int(payload["exp"]) > time.time():
        revoke(payload)


def rotate(refresh_payload: dict[str, Any]) -> dict[str, Any]:
    """Exchange a valid refresh token for a new pair; the old one is revoked (flushes, never commits).

    Raises Unauthorized `token_revoked` when the token was already rotated (only one concurrent refresh
    wins) and `account_inactive` when the user is gone.
    """
    user = user_from_identity(refresh_payload["sub"])
    if not revoke(refresh_payload):
        raise Unauthorized("This refresh token was already used.", code="token_revoked")
    family = refresh_payload.get("fam")
    return token_pair(user, family if isinstance(family, str) and family else None)


def refused_refresh_token(payload: dict[str, Any]) -> None:
    """A revoked refresh token was presented: if it was rotated (or logged out) longer than
    REFRESH_REUSE_GRACE_S ago, someone else may hold its successor, so its session ends (commits).
    Never raises: the caller answers 401 whatever happens here."""
    grace = timedelta(seconds=int(current_app.config["REFRESH_REUSE_GRACE_S"]))
    try:
        revoked_at = db.session.scalar(sa.select(RevokedToken.revoked_at)
                                       .where(RevokedToken.jti == str(payload["jti"])))
        if revoked_at is None or revoked_at > datetime.now(timezone.utc) - grace:
            return  # only the session was ended, or two refreshes raced: nothing more to end
        if revoke_family(payload):
            db.session.commit()
            log.warning("refresh token reused after rotation: session ended user=%s family=%s",
                        payload.get("sub"), payload.get("fam"))
        else:
            db.session.rollback()
    except Exception:  # noqa: BLE001 - the 401 stands; the family is ended on the next reuse
        db.session.rollback()
        log.exception("could not end the session of a reused refresh token user=%s", payload.get("sub"))


def _warm_revocation_cache(client: Any) -> None:
    now = datetime.now(timezone.utc)
    rows = db.session.execute(
        sa.select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at > now)
    ).all()
    pipe = client.pipeline(transaction=False)
    for jti, expires_at in rows:
        pipe.set(_revoked_key(jti), "1", ex=max(1, int((expires_at - now).total_seconds())))
    pipe.set(_warm_key(), "1")
    pipe.execute()
    log.info("revoked-token cache rebuilt from the database (%s live entries)", len(rows))


def is_token_revoked(jti: str) -> bool:
    """True when jti was revoked (see is_revoked)."""
    return is_revoked([jti])


def is_revoked(jtis: Sequence[str]) -> bool:
    """True when any of jtis (a token's own, its session's `fam:<id>`, its user's `user:<id>`) was
    revoked. Reads Redis only once the cache is warm (one round trip); the database while Redis is down."""
    keys = [_revoked_key(jti) for jti in jtis]
    try:
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        pipe.exists(*keys)
        pipe.exists(_warm_key())
        revoked, warm = pipe.execute()
        if revoked:
            return True
        if warm:
            return False
        _warm_revocation_cache(client)
        return bool(client.exists(*keys))
    except redis.exceptions.RedisError as exc:
        log.warning("revoked-token cache unavailable, asking the database: %s", exc)
        return db.session.scalar(sa.select(RevokedToken.id).where(RevokedToken.jti.in_(list(jtis))).limit(1)) \
            is not None


def checked_jtis(payload: dict[str, Any]) -> list[str]:
    """What a token's revocation check looks up: its jti, its user's suspension, and for a refresh token
    its session (family)."""
    jtis = [str(payload["jti"])]
    subject = str(payload.get("sub", ""))
    if subject.isdigit():
        jtis.append(_user_jti(int(subject)))
    family = payload.get("fam")
    if payload.get("type") == "refresh" and isinstance(family, str) and family:
        jtis.append(_family_jti(family))
    return jtis


# A view whose single Redis step can check the token's revocation itself (the hold scripts take guard
# keys) is marked with `revocation_checked_in_step`; for it the blocklist loader leaves the check pending
# instead of making a round trip of its own, and the view runs its step through `with_revocation_guard`.
# Every other way out of a marked view (a validation error before the step, Redis down, a path that never
# reached the step) gets the usual check before its response leaves, so a revoked token gets 401 exactly
# as on every other route.
_PENDING = "cineverse_revocation_pending"
_MARK = "_cineverse_revocation_in_step"
T = TypeVar("T")


def _revoked_error(payload: dict[str, Any]) -> Unauthorized:
    """The 401 for a refused token: `account_inactive` when its user was suspended (asked only on this
    refusal path), else `token_revoked`."""
    subject = str(payload.get("sub", ""))
    try:
        active = db.session.scalar(sa.select(User.is_active).where(User.id == int(subject))) \
            if subject.isdigit() else None
    except Exception:  # noqa: BLE001 - the refusal stands; only its wording is at stake
        db.session.rollback()
        active = None
    if active is False:
        return Unauthorized("This account no longer exists or is deactivated.", code="account_inactive")
    return Unauthorized("The token was revoked.", code="token_revoked", details={"token_type": payload.get("type")})


def _defer_revocation_check(payload: dict[str, Any]) -> bool:
    """True (and the check left pending) when the current request's view checks revocation in its step."""
    if not has_request_context() or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, _MARK, False):
        return False
    g.setdefault(_PENDING, payload)
    return True


def _check_pending_revocation() -> None:
    payload = g.pop(_PENDING, None)
    if payload is not None and is_revoked(checked_jtis(payload)):
        raise _revoked_error(payload)


def revocation_checked_in_step(view: Callable[..., T]) -> Callable[..., T]:
    """Mark a JWT-protected view (put it right under the route decorator) whose Redis step checks the
    token's revocation through `with_revocation_guard`, saving the blocklist lookup's round trip."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        g.pop(_PENDING, None)  # tests may share one app context (and g) between requests
        try:
            response = view(*args, **kwargs)
        except Exception as exc:
            try:
                _check_pending_revocation()
            except Unauthorized as revoked:
                raise revoked from exc
            raise
        _check_pending_revocation()  # a path that never reached the step: checked all the same
        return response

    setattr(wrapper, _MARK, True)
    return wrapper


def with_revocation_guard(step: Callable[[Sequence[str]], T], payload: dict[str, Any] | None = None) -> T:
    """Run step(guard) inside a `revocation_checked_in_step` view (or for a token `payload` decoded
    outside one, app/api/hold_lane.py): guard is the token's revocation key and its user's suspension
    key (neither may exist) and the revocation mirror's warm marker (must exist), which the hold scripts
    check before changing anything (seats.scripts.GuardRefused). An empty guard when the token was checked
    already.

    Raises Unauthorized `token_revoked` / `account_inactive`. A cold mirror (no warm marker, e.g. after a
    Redis restart) gets the full check, which rebuilds it, and the step runs once more without the guard.
    """
    if payload is None:
        payload = g.pop(_PENDING, None)
        if payload is None:
            return step(())
    jtis = checked_jtis(payload)
    if len(jtis) != 2:  # a token without a numeric subject: the usual check, then the step
        if is_revoked(jtis):
            raise _revoked_error(payload)
        return step(())
    try:
        return step((_revoked_key(jtis[0]), _revoked_key(jtis[1]), _warm_key()))
    except GuardRefused as exc:
        if exc.present or is_revoked(jtis):
            raise _revoked_error(payload) from exc
        return step(())
    except Exception as exc:  # the step may have failed before its script ran (bad seats, Redis down)
        if is_revoked(jtis):
            raise _revoked_error(payload) from exc
        raise


def purge_expired_revocations() -> int:
    """Delete revocation rows of tokens that have expired anyway (flushes, never commits)."""
    result = db.session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < datetime.now(timezone.utc)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- wiring


def init_auth(app: Flask) -> None:
    """JWT callbacks (blocklist, our error shape for every token failure) and the rate limiter."""

    @jwt.token_in_blocklist_loader
    def _blocked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        if _defer_revocation_check(payload):
            return False
        return is_revoked(checked_jtis(payload))

    @jwt.unauthorized_loader
    def _missing(reason: str):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("A bearer token is required.", details={"reason": reason}))

    @jwt.invalid_token_loader
    def _invalid(reason: str):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("The token is not valid.", code="invalid_token", details={"reason": reason}))

    @jwt.expired_token_loader
    def _expired(_header: dict[str, Any], payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("The token has expired.", code="token_expired",
                                   details={"token_type": payload.get("type")}))

    @jwt.revoked_token_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        if payload.get("type") == "refresh":
            refused_refresh_token(payload)
        return error_response(_revoked_error(payload))

    @jwt.user_lookup_error_loader
    def _no_user(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("This account no longer exists or is deactivated.", code="account_inactive"))

    @jwt.needs_fresh_token_loader
    def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("A fresh login is required.", code="fresh_token_required"))

    @jwt.token_verification_failed_loader
    def _failed(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("The token was refused.", code="invalid_token"))

    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current is not None else 60
        return error_response(TooManyRequests(details={"limit": str(exc.limit.limit), "retry_after": wait},
                                      headers={"Retry-After": str(wait)}))
