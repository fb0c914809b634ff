"""The JWT callbacks (blocklist, our error shape for every token failure) and the rate limiter, wired into
the app."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, request
from flask_limiter import RateLimitExceeded

from app.errors import TooManyRequests, Unauthorized, error_response
from app.extensions import jwt, limiter, redis_pool
from app.hotpath.revocation_step import defer_revocation_check, revoked_error
from app.logs import USER_KEY
from app.services.revocation import checked_jtis, is_revoked, refused_refresh_token

log = logging.getLogger(__name__)


def init_auth(app: Flask) -> None:
    """JWT callbacks (blocklist, our error shape for every token failure) and the rate limiter."""

    @jwt.token_in_blocklist_loader
    def _blocked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        request.environ[USER_KEY] = payload.get("sub")  # for the request's log line (app/logs.py)
        if defer_revocation_check(payload):
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
        return error_response(revoked_error(payload))

    @jwt.user_lookup_error_loader
    def _no_user(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("This account no longer exists or is deactivated.", code="account_inactive"))

    @jwt.needs_fresh_token_loader
    def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("A fresh login is required.", code="fresh_token_required"))

    @jwt.token_verification_failed_loader
    def _failed(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(Unauthorized("The token was refused.", code="invalid_token"))

    if app.config.get("REDIS_CLUSTER_NODES"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", "redis+cluster://" + str(app.config["REDIS_CLUSTER_NODES"]))
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if app.config["RATELIMIT_STORAGE_URI"] == app.config.get("REDIS_URL"):
        # the limiter's own client gets the same bounded, waiting pool as the app's (limits would make
        # redis-py's default one, which fails past 100 connections under a burst)
        pool = redis_pool(app, app.config["REDIS_URL"])
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"connection_pool": pool})
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current is not None else 60
        return error_response(TooManyRequests(details={"limit": str(exc.limit.limit), "retry_after": wait},
                                      headers={"Retry-After": str(wait)}))
