"""The hold lane: plain lock and unlock requests answered in front of Flask's request dispatch.

Lock and unlock are the routes a busy seat map hits hardest (issue 3 asks for lock+unlock at 60% of a
bare Flask endpoint's throughput). Their own work is one Redis round trip, but a Flask request around
it costs more than the work: the request context and its session, URL matching, the rate limiter's
per-request bookkeeping, flask-jwt-extended's decorator and flask-smorest's wrappers (bench/RESULTS.md).
This WSGI middleware answers the requests that are *plainly* valid with the same functions the views
call, and passes every other request, untouched, to the app:

    POST /api/showtimes/<id>/redis-lock-seats     (and redis-unlock-seats)
    Authorization: Bearer <an access token this app's JWT manager verifies>
    Content-Type: application/json
    {"seat_ids": [1..MAX_SEATS_PER_BOOKING seat labels]}         (nothing else, no query string)
    X-Queue-Pass: <a waiting room pass>                           (optional; the lock script checks it)

It answers the seat map the same way (issue 12: the page everybody opens first when a sale opens):

    GET /api/showtimes/<id>/seats     no query string, no body; anonymous or a bearer token as above

with `seat_map_answer` (app/hotpath/seatmap_work.py), the view's own function: the map's bytes, its
ETag and 304, the token's revocation checked in the map's one Redis step. A token the lane does not
know, or any other Authorization, goes to the app.

What it shares with the views, so the two cannot drift apart:
- the work and the answer body: `hold_seats` / `release_seats` (app/api/holds.py), which run the hold
  scripts with the token's revocation and its user's suspension checked in the same step
  (`with_revocation_guard`), count the lock metrics and dump the body;
- the token: only a token that this app's JWT manager verified is accepted: one it verified before
  (app/hotpath/jwt_cache.py keeps those; its exp/nbf/iat are checked again), or one the lane has it
  verify now with `decode_token`, the decode jwt_required runs (so the first request of each of 2,000
  buyers arriving at once does not need Flask's dispatch); its type must be `access`. A token the decode
  refuses, a refresh token or any other Authorization shape goes to the app, which answers 401/422 itself;
- the body: `plain_seat_ids` is the views' own fast path; a body it does not accept, one the app's edge
  check refuses (`json_body_problem`: NUL, too deep, lone surrogates), a query string, another media
  type or a body over MAX_BODY bytes goes to the app, whose schema and checks answer as usual;
- errors: `exception_response` (app/errors.py) is what the app's error handlers answer with;
- metrics: the request is counted under its route template, as the app's after-request hook does.

What it leaves out, and why that is safe: URL matching (the pattern below is the routes' own shape; an
id the int converter reads differently, such as 007, goes to the app), the session (these routes never
touch it), and the rate limiter (the hold routes have no limits, and `install` refuses to take them when
any default or application-wide limit is configured; tests/api/test_hold_lane.py fails when a hold route
gains a limit or the app gains a request hook the lane does not know about).
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response
from flask_jwt_extended import decode_token
from flask_jwt_extended.config import config as jwt_config

from app import metrics
from app.api.holds import LOCK_RULE, UNLOCK_RULE
from app.errors import exception_response
from app.extensions import limiter
from app.hotpath.holds_work import hold_seats, plain_seat_ids, release_seats
from app.hotpath.jwt_cache import verified_claims
from app.hotpath.seatmap_work import seat_map_answer
from app.logs import ROUTE_KEY, USER_KEY
from app.textcheck import json_body_problem

# The int converter's ids without a leading zero, at most 10 digits (PostgreSQL integers).
_PATH = re.compile(r"/api/showtimes/([1-9][0-9]{0,9})/redis-(lock|unlock)-seats\Z")
_MAP_PATH = re.compile(r"/api/showtimes/([1-9][0-9]{0,9})/seats\Z")
_MAP_ROUTE = "/api/showtimes/<int:showtime_id>/seats"
_STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\Z")
MAX_BODY = 2048
_ROUTES = {"lock": "/api" + LOCK_RULE, "unlock": "/api" + UNLOCK_RULE}

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class HoldLane:
    """WSGI middleware in front of `app.wsgi_app`; see the module docstring."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.metrics = bool(app.config.get("METRICS_ENABLED", True))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            return self._seat_map(environ, start_response)
        if method != "POST":
            return self.wsgi_app(environ, start_response)
        match = _PATH.match(environ.get("PATH_INFO", ""))
        if match is None or environ.get("SCRIPT_NAME") or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        body = self._plain_body(environ)
        if body is None:
            return self.wsgi_app(environ, start_response)
        with self.app.app_context():
            answer = self._answer(environ, body, int(match.group(1)), match.group(2))
            if answer is not None:
                if isinstance(answer, bytes):  # jsonify's bytes and headers, without building a Response
                    status = 200
                    start_response("200 OK", [("Content-Type", self.app.json.mimetype),  # type: ignore[attr-defined]
                                              ("Content-Length", str(len(answer)))])
                    result: Iterable[bytes] = [answer]
                else:
                    status = answer.status_code
                    result = answer(environ, start_response)
                if self.metrics:
                    metrics.observe_request("POST", _ROUTES[match.group(2)], status, started)
                environ[ROUTE_KEY] = _ROUTES[match.group(2)]  # for the request's log line (app/logs.py)
                return result
        return self.wsgi_app(environ, start_response)  # outside the lane's app context: the app pushes its own

    def _seat_map(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """GET /api/showtimes/<id>/seats without a query string or body, anonymous or with a bearer token
        this app verified before: answered with the view's own function (seat_map_answer)."""
        match = _MAP_PATH.match(environ.get("PATH_INFO", ""))
        if (match is None or environ.get("SCRIPT_NAME") or environ.get("QUERY_STRING")
                or environ.get("CONTENT_LENGTH", "0") not in ("", "0") or environ.get("HTTP_TRANSFER_ENCODING")):
            return self.wsgi_app(environ, start_response)
        authorization = environ.get("HTTP_AUTHORIZATION")
        started = time.perf_counter()
        with self.app.app_context():
            claims = None if authorization is None else self._claims(authorization)
            if authorization is None or claims is not None:  # else the app decodes the token or refuses it
                try:
                    status, headers, body = seat_map_answer(
                        int(match.group(1)), claims[jwt_config.identity_claim_key] if claims else None,
                        environ.get("HTTP_IF_NONE_MATCH"), authorization is not None, claims)
                    start_response(_STATUS_LINES[status], headers)
                    result: Iterable[bytes] = [body]
                except Exception as exc:  # noqa: BLE001 - answered as the app's error handlers answer it
                    response = exception_response(exc)
                    status = response.status_code
                    result = response(environ, start_response)
                if self.metrics:
                    metrics.observe_request("GET", _MAP_ROUTE, status, started)
                environ[ROUTE_KEY] = _MAP_ROUTE
                environ[USER_KEY] = claims[jwt_config.identity_claim_key] if claims else None
                return result
        return self.wsgi_app(environ, start_response)  # outside the lane's app context

    def _plain_body(self, environ: dict[str, Any]) -> bytes | None:
        """The request body when its headers are plain (JSON, a known length up to MAX_BODY); None
        otherwise. A body that was read is put back, so the app reads the same bytes."""
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if not length.isdigit() or not 0 < int(length) <= MAX_BODY or environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        body: bytes = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _answer(self, environ: dict[str, Any], body: bytes, showtime_id: int, action: str) -> bytes | Response | None:
        """The answer to a plain request: the 200 body, or the error response; None to leave the request
        to the app (nothing was changed then). Runs in an app context."""
        claims = self._claims(environ.get("HTTP_AUTHORIZATION", ""))
        if claims is not None:
            environ[USER_KEY] = claims.get(jwt_config.identity_claim_key)
        if claims is None or json_body_problem(body) is not None:  # the app's edge check answers those
            return None
        try:
            data = self.app.json.loads(body)
        except ValueError:
            return None
        seats = plain_seat_ids(data, int(self.app.config["MAX_SEATS_PER_BOOKING"]))
        if seats is None:
            return None
        try:
            user = claims[jwt_config.identity_claim_key]
            if action == "lock":
                answer = hold_seats(showtime_id, user, seats["seat_ids"], claims, environ.get("HTTP_X_QUEUE_PASS"))
            else:
                answer = release_seats(showtime_id, user, seats["seat_ids"], claims)
            return f"{self.app.json.dumps(answer, **self._json_layout())}\n".encode()
        except Exception as exc:  # noqa: BLE001 - answered as the app's error handlers answer it
            return exception_response(exc)

    def _json_layout(self) -> dict[str, Any]:
        """The layout jsonify gives a body (flask.json.provider.DefaultJSONProvider.response)."""
        provider: Any = self.app.json
        if (provider.compact is None and self.app.debug) or provider.compact is False:
            return {"indent": 2}
        return {"separators": (",", ":")}

    @staticmethod
    def _claims(authorization: str) -> dict[str, Any] | None:
        """The claims of a bearer access token this app's JWT manager verifies (from its cache, or decoded
        in full now), or None."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or _TOKEN.match(token) is None:
            return None
        claims = verified_claims(token)
        if claims is None:
            # Not seen yet: the very decode jwt_required runs (signature, exp/nbf/iat, the app's key),
            # which also remembers it. A token it refuses goes to the app, which answers the refusal.
            try:
                claims = decode_token(token)
            except Exception:  # noqa: BLE001 - every refusal is the app's to word
                return None
        if claims.get("type") != "access" or jwt_config.identity_claim_key not in claims:
            return None
        return claims


def installed(app: Flask) -> HoldLane | None:
    """The app's lane, under whatever middleware wraps it (app/headers.py), or None."""
    wsgi: Any = app.wsgi_app
    while wsgi is not None and not isinstance(wsgi, HoldLane):
        wsgi = getattr(wsgi, "wsgi_app", None)
    return wsgi


def install(app: Flask) -> None:
    """Put the lane in front of the app when its assumptions hold (HOLD_LANE_ENABLED, tokens in the
    Authorization header as `Bearer`, no limit that applies to every route, no MAX_CONTENT_LENGTH under
    MAX_BODY). Runs after the rate limiter's init_app."""
    if installed(app) is not None:
        return
    with app.app_context():
        usable = ("headers" in jwt_config.token_location and jwt_config.header_name == "Authorization"
                  and jwt_config.header_type == "Bearer")
    if not app.config.get("HOLD_LANE_ENABLED", True) or not usable:
        return
    manager = limiter.limit_manager
    if (app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION")
            or manager.default_limits or manager.application_limits):
        return
    if app.config.get("MAX_CONTENT_LENGTH") is not None and int(app.config["MAX_CONTENT_LENGTH"]) < MAX_BODY:
        return
    app.wsgi_app = HoldLane(app, app.wsgi_app)  # type: ignore[method-assign]
