"""A bounded per-app cache of verified access tokens, so a client's token is checked in full once.

flask-jwt-extended parses each bearer token three times per request (claims unverified, header, then
the verified decode), and PyJWT validates every base64 character of every segment in Python: on this
machine that is most of an authenticated request's cost (bench/RESULTS.md). The cache maps the exact
encoded token (header, claims and signature) to the claims that a full decode produced; a hit re-checks
what can change with time (exp, nbf, iat against the leeway) and anything else falls back to the full
decode, which raises the usual errors. What it leaves alone:

- revocation and the other per-request checks (token type, freshness, `token_in_blocklist_loader`,
  user lookup) run after the decode, on every request, exactly as before;
- a token that differs by one character (a forged signature) is a different key and is decoded in full;
- it is only used for the plain header decode: not with a CSRF value, not for `allow_expired`, and not
  when the app installs its own `decode_key_loader` (keys could then differ per token);
- each app has its own cache (its own secret); a secret change means a new app, hence a new cache.

After the decode, flask-jwt-extended's view decorator parses the token's header once more, unverified
(`get_unverified_jwt_headers`, PyJWT again). `init_app` points the decorator's module at a version that
remembers the header per exact token string: the header is a pure function of that string, and the
decorator only asks for it after the token passed the decode, so the map holds verified tokens only.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import flask_jwt_extended.view_decorators as view_decorators
from flask import Flask, current_app
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.default_callbacks import default_decode_key_callback
from flask_jwt_extended.utils import get_unverified_jwt_headers

from app.appctx import this_app

DEFAULT_SIZE = 50_000  # a big on-sale's signed-in buyers per worker; about 1 KB each


class _Cache:
    """Insertion-ordered dict with FIFO eviction: cheap, bounded, safe enough for threads (a lost race
    only costs a full decode)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def get(self, token: str) -> dict[str, Any] | None:
        return self.items.get(token)

    def put(self, token: str, claims: dict[str, Any]) -> None:
        with self.lock:
            while len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)), None)
            self.items[token] = claims

    def discard(self, token: str) -> None:
        self.items.pop(token, None)


def _still_valid(claims: dict[str, Any], leeway: float) -> bool:
    now = time.time()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if exp is not None and not now - leeway < exp:
        return False
    if nbf is not None and nbf > now + leeway:
        return False
    return iat is None or iat <= now + leeway


_headers = _Cache(DEFAULT_SIZE)


def cached_unverified_jwt_headers(encoded_token: str) -> dict[str, Any]:
    """flask_jwt_extended.utils.get_unverified_jwt_headers, remembered per token string (see above)."""
    header = _headers.get(encoded_token)
    if header is None:
        header = get_unverified_jwt_headers(encoded_token)
        _headers.put(encoded_token, dict(header))
        return header
    return dict(header)


def verified_claims(encoded_token: str) -> dict[str, Any] | None:
    """The claims of an access or refresh token a full decode already verified in this app (a copy), if
    it is still within its validity window; None when it must be decoded in full (an entry past its
    window is dropped). The manager below and app/hotpath/lane.py both read the cache through it.
    App context needed."""
    cache: _Cache | None = this_app().extensions.get("jwt_claims_cache")
    claims = cache.get(encoded_token) if cache is not None else None
    if cache is None or claims is None:
        return None
    if not _still_valid(claims, float(config.leeway)):
        cache.discard(encoded_token)
        return None
    return dict(claims)


class CachingJWTManager(JWTManager):
    """JWTManager whose token decode is served from a bounded cache of tokens it already verified."""

    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        super().init_app(app, add_context_processor)
        view_decorators.get_unverified_jwt_headers = cached_unverified_jwt_headers  # type: ignore[assignment]

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: Any = None,
                                allow_expired: bool = False) -> dict:
        if csrf_value or allow_expired or self._decode_key_callback is not default_decode_key_callback:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        app = current_app
        cache: _Cache | None = app.extensions.get("jwt_claims_cache")
        if cache is None:
            size = int(app.config.get("JWT_CLAIMS_CACHE_SIZE", DEFAULT_SIZE))
            if size <= 0:
                return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            cache = app.extensions.setdefault("jwt_claims_cache", _Cache(size))
        claims = verified_claims(encoded_token)
        if claims is not None:
            return claims
        decoded = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        cache.put(encoded_token, dict(decoded))
        return decoded
