"""The verified-token cache (app/hotpath/jwt_cache.py): same answers as a full decode, every request."""

from __future__ import annotations

import flask_jwt_extended.view_decorators as view_decorators
import jwt as pyjwt
from flask_jwt_extended import create_access_token

from app.hotpath.jwt_cache import cached_unverified_jwt_headers
from tests.factories import make_user


def test_the_view_decorator_reads_headers_through_the_cache(ctx):
    assert view_decorators.get_unverified_jwt_headers is cached_unverified_jwt_headers
    token = create_access_token(identity="1")
    first = cached_unverified_jwt_headers(token)
    assert first == pyjwt.get_unverified_header(token)
    first["alg"] = "none"  # a caller's change never reaches the cache
    assert cached_unverified_jwt_headers(token) == pyjwt.get_unverified_header(token)


def test_cached_tokens_still_fail_when_tampered_with(client, ctx):
    token = create_access_token(identity=str(make_user().id))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/user/me", headers=headers).status_code == 200
    assert client.get("/api/user/me", headers=headers).status_code == 200  # served from the cache
    head, claims, signature = token.split(".")
    forged = f"{head}.{claims}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    response = client.get("/api/user/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"
