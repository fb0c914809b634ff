"""Blueprints under /api, registered through the flask-smorest Api so they appear in OpenAPI."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Rule

from app.errors import ValidationError
from app.extensions import api
from app.textcheck import json_body_problem


def reject_unusable_input() -> None:
    """PostgreSQL text cannot hold NUL; refuse it at the edge instead of failing deep in a query. JSON
    bodies are checked by app/textcheck.py: NUL, nesting deeper than the parser goes (400 invalid_json),
    lone surrogates (422 invalid_characters)."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not eight
    query = req.query_string
    if query and (b"%00" in query or b"\x00" in query):
        raise ValidationError("The query string contains a NUL character.", code="invalid_characters")
    if "chunked" in req.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        buffer_chunked_body(req.environ, req.max_content_length)
    if not req.content_length or req.endpoint == "payments.webhook":
        return  # the webhook's body is stored verbatim as JSON; a gateway must never be refused
    mimetype = req.mimetype
    if mimetype == "application/json":
        problem = json_body_problem(req.get_data(cache=True))
        if problem is not None:
            raise problem
    elif mimetype == "application/x-www-form-urlencoded":
        body = req.get_data(cache=True)
        if b"\x00" in body or b"%00" in body:
            raise ValidationError("The request body contains a NUL character.", code="invalid_characters")


def buffer_chunked_body(environ: dict[str, Any], limit: int | None) -> None:
    """Turn a chunked request body into a plain one with a Content-Length, so that the checks above and
    every reader after them see it. Raises RequestEntityTooLarge (413) past `limit`.

    Werkzeug gives a chunked body no content_length, and at MAX_CONTENT_LENGTH it stops reading without
    an error: the route would get the body cut short. Runs before anything has read the stream."""
    if not environ.get("wsgi.input_terminated"):
        return  # a server that does not decode chunked bodies: Werkzeug reads nothing from them either
    raw = environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while True:
        piece = raw.read(65536 if limit is None else min(65536, limit + 1 - size))
        if not piece:
            break
        parts.append(piece)
        size += len(piece)
        if limit is not None and size > limit:
            raise RequestEntityTooLarge()
    body = b"".join(parts)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    del environ["HTTP_TRANSFER_ENCODING"]


def register_blueprints(app: Flask) -> None:
    from app.api import catalogue, health, holds, payments

    app.before_request(reject_unusable_input)
    for module in (health, catalogue, holds, payments):
        api.register_blueprint(module.blp)

    # accounts and staff (issue 4), the reports' routes (on the admin blueprint), waiting lists, rooms
    from app.api import admin, admin_reports, users, waiting_room, waitlist  # noqa: F401

    for module in (users, admin, waitlist, waiting_room):
        api.register_blueprint(module.blp)
    from app.api.docs import assets_bp

    app.register_blueprint(assets_bp)  # Swagger UI's own files, for /api/docs
    if app.config.get("PAYMENT_GATEWAY") == "dev" and not app.config.get("PRODUCTION"):
        from app.api import dev_payments  # the test gateway's checkout: no such route in production

        api.register_blueprint(dev_payments.blp)
    document_websocket()


_SHOWTIME_ID = {"name": "showtime_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_SUBPROTOCOLS = {"name": "Sec-WebSocket-Protocol", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "`cineverse.v1`, and `bearer.<access token>` to sign in (answered `cineverse.v1`); "
                                "a `?token=` in the URL is refused with 400 `token_in_url`"}


def document_websocket() -> None:
    """flask-sock routes are invisible to flask-smorest; describe the sockets by hand."""
    api.spec.path(
        rule=Rule("/api/showtimes/<int:showtime_id>/seats/ws"),
        parameters=[_SHOWTIME_ID, _SUBPROTOCOLS],
        operations={"get": {
            "tags": ["holds"],
            "summary": "Live seat map (WebSocket)",
            "description": (
                "Upgrade to a WebSocket. The first message is "
                '`{"type": "snapshot", "version": N, "seats": [...]}`; then every change arrives as '
                '`{"type": "seat_locked" | "seat_released" | "seat_booked" | "seat_update", '
                '"seat_ids": [...], "version": N}` with `version` strictly increasing: a gap means '
                "re-fetch the seat map. No holder identities are sent; a signed-in viewer's own holds are "
                "marked `mine`. Server to client only. The server pings to keep the connection alive."
            ),
            "responses": {"101": {"description": "switching protocols"},
                          "400": {"description": "bad_handshake, token_in_url, bad_subprotocol"},
                          "429": {"description": "too_many_sockets (WS_MAX_PER_IP)"}},
        }},
    )
    api.spec.path(
        rule=Rule("/api/showtimes/<int:showtime_id>/queue/ws"),
        parameters=[_SHOWTIME_ID, _SUBPROTOCOLS],
        operations={"get": {
            "tags": ["waiting_room"],
            "summary": "One's place in the waiting room, live (WebSocket)",
            "description": (
                "Signed in (the `bearer.` subprotocol), after joining with POST .../queue. Pushes "
                '`{"type": "queue_position", "state": "waiting", "position": N, "estimated_wait_s": S}` (or '
                '`"pre_queue"` with `opens_at`) when it changes, at most about once a second, and '
                '`{"type": "admitted", "pass": "...", "pass_expires_at": "..."}` as soon as the buyer is '
                "admitted, then closes (1000). Refusals after the upgrade: an `error` message with the HTTP "
                "routes' code (unauthorized, token_revoked, not_in_queue, waiting_room_off) and a 1008 close."
            ),
            "responses": {"101": {"description": "switching protocols"},
                          "400": {"description": "bad_handshake, token_in_url, bad_subprotocol"},
                          "429": {"description": "too_many_sockets (WS_MAX_PER_IP)"}},
        }},
    )
