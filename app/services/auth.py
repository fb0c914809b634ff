"""Accounts: registration, login and token issue (revocation, sessions and suspension: revocation.py).

Access and refresh tokens are flask-jwt-extended JWTs (HS256, JWT_SECRET_KEY, identity `str(user.id)`).

The registration token (issued after a verified sign-up code) is a separate JWT: signed with a key
derived from JWT_SECRET_KEY, with its own audience and type, so no JWT-protected route accepts it and
it cannot pass for an access token; it is single use.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt as pyjwt
import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, Unauthorized
from app.extensions import db, get_redis
from app.models import Role, User
from app.services.otp import normalize_email, verify_code
from app.services.passwords import hash_password, verify_password

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
