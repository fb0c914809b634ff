"""Token revocation, sessions and suspension.

A revoked token is a row in `revoked_tokens` (the truth) mirrored in Redis; the blocklist check reads
Redis only, so a normal request costs no query. The Redis mirror is complete once a "warm" marker is
set (it is rebuilt from the database whenever the marker is missing, e.g. after a Redis restart), and
the check falls back to the database while Redis is down.
Sessions: every token of one sign-in carries the same family id (`fam`), kept across refreshes. Logout
ends the family, so the session's refresh tokens die even when the client does not send them; a rotated
refresh token presented again after REFRESH_REUSE_GRACE_S means two parties hold the session (a stolen
token), so the family ends too and the thief's newer refresh token with it (OAuth 2.0 Security BCP,
refresh token rotation with reuse detection). A family is revoked as a `revoked_tokens` row whose jti is
`fam:<id>`; only refresh tokens are checked against it (access tokens live minutes, and the hot routes
keep their one Redis step).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import redis.exceptions
import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import decode_token
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import PoolExhausted, Unauthorized
from app.extensions import db, get_redis
from app.models import RevokedToken, User
from app.services.auth import _prefix, token_pair, user_from_identity
from app.services.uow import after_commit

log = logging.getLogger(__name__)



def revoked_key(jti: str) -> str:
    return f"{_prefix()}:revoked:{jti}"


def warm_key() -> str:
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
    key, ttl = revoked_key(jti), max(1, int(expires_at.timestamp() - time.time()))
    after_commit(lambda: get_redis().set(key, "1", ex=ttl))


def restore_user(user: User) -> None:
    """Undo suspend_user (flushes, never commits): tokens issued before the suspension that have not
    expired work again. Redis forgets the mark only after the commit (until then the user stays out)."""
    jti = _user_jti(user.id)
    db.session.execute(sa.delete(RevokedToken).where(RevokedToken.jti == jti))
    key = revoked_key(jti)
    after_commit(lambda: get_redis().delete(key))


def _revoke_jti(jti: str, token_type: str, subject: object, expires_at: datetime,
                redis_ttl: int | None = None) -> bool:
    ttl = max(1, int(expires_at.timestamp() - time.time()))
    get_redis().set(revoked_key(jti), "1", ex=min(ttl, redis_ttl or ttl))
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


# One rebuild at a time in this process: after a Redis restart every request finds the mirror cold at
# once, and each would read the whole table; the ones that waited find it warm and read nothing.
_WARMING = threading.Lock()


def _warm_revocation_cache(client: Any) -> None:
    queued = _WARMING.acquire(timeout=5)  # bounded: past it, this request rebuilds for itself
    try:
        if queued and client.exists(warm_key()):
            return
        _rebuild_revocation_cache(client)
    finally:
        if queued:
            _WARMING.release()


def _rebuild_revocation_cache(client: Any) -> None:
    now = datetime.now(timezone.utc)
    rows = db.session.execute(
        sa.select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at > now)
    ).all()
    pipe = client.pipeline(transaction=False)
    for jti, expires_at in rows:
        pipe.set(revoked_key(jti), "1", ex=max(1, int((expires_at - now).total_seconds())))
    pipe.set(warm_key(), "1")
    pipe.execute()
    log.info("revoked-token cache rebuilt from the database (%s live entries)", len(rows))


def is_token_revoked(jti: str) -> bool:
    """True when jti was revoked (see is_revoked)."""
    return is_revoked([jti])


def is_revoked(jtis: Sequence[str]) -> bool:
    """True when any of jtis (a token's own, its session's `fam:<id>`, its user's `user:<id>`) was
    revoked. Reads Redis only once the cache is warm (one round trip); the database while Redis is down."""
    keys = [revoked_key(jti) for jti in jtis]
    try:
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        for key in keys:  # one EXISTS each: on a Redis Cluster the keys live in different slots
            pipe.exists(key)
        pipe.exists(warm_key())
        *revoked, warm = pipe.execute()
        if any(revoked):
            return True
        if warm:
            return False
        _warm_revocation_cache(client)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return any(pipe.execute())
    except PoolExhausted:
        raise  # the server is full, Redis is fine: shed the request (503) rather than add a query
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


def purge_expired_revocations() -> int:
    """Delete revocation rows of tokens that have expired anyway (flushes, never commits)."""
    result = db.session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < datetime.now(timezone.utc)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
