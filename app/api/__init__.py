"""Blueprints under /api, registered through the flask-smorest Api so they appear in OpenAPI."""

from __future__ import annotations

import json

from flask import Flask, request
from werkzeug.routing import Rule

from app.errors import AppError, ValidationError
from app.extensions import api
from app.textcheck import SURROGATE_ESCAPE, has_lone_surrogate

# Python's JSON parser recurses once per nesting level and raises RecursionError (not a ValueError, so
# neither Flask nor webargs reads it as bad JSON) near a thousand levels. A body with this many brackets
# is parsed once more here, and one nested too deeply for the parser is refused as bad JSON.
_BRACKETS_WORTH_A_CHECK = 256


def _too_deep(body: bytes) -> bool:
    if body.count(b"[") + body.count(b"{") < _BRACKETS_WORTH_A_CHECK:
        return False
    try:
        json.loads(body)
    except RecursionError:
        return True
    except ValueError:
        return False  # malformed JSON: the route's own parsing answers it
    return False


def _lone_surrogates(body: bytes) -> bool:
    try:
        return has_lone_surrogate(json.loads(body))
    except ValueError:
        return False  # malformed JSON: the route's own parsing answers it


def reject_nul_characters() -> None:
    """PostgreSQL text cannot hold NUL; refuse it at the edge instead of failing deep in a query. So are
    JSON bodies nested deeper than the parser can go (400 invalid_json) and strings holding a lone
    surrogate, which no UTF-8 encoder takes (422 invalid_characters, app/textcheck.py)."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not eight
    query = req.query_string
    if query and (b"%00" in query or b"\x00" in query):
        raise ValidationError("The query string contains a NUL character.", code="invalid_characters")
    if not req.content_length or req.endpoint == "payments.webhook":
        return  # the webhook's body is stored verbatim as JSON; a gateway must never be refused
    mimetype = req.mimetype
    if mimetype in ("application/json", "application/x-www-form-urlencoded"):
        body = req.get_data(cache=True)
        encoded_nul = b"\\u0000" if mimetype == "application/json" else b"%00"
        if b"\x00" in body or encoded_nul in body:
            raise ValidationError("The request body contains a NUL character.", code="invalid_characters")
        if mimetype == "application/json" and _too_deep(body):
            raise AppError("The JSON body is nested too deeply.", code="invalid_json")
        if mimetype == "application/json" and SURROGATE_ESCAPE.search(body) and _lone_surrogates(body):
            raise ValidationError("The request body contains text that is not valid Unicode (a lone "
                                  "surrogate escape).", code="invalid_characters")


def register_blueprints(app: Flask) -> None:
    from app.api import catalogue, health, holds, payments

    app.before_request(reject_nul_characters)
    for module in (health, catalogue, holds, payments):
        api.register_blueprint(module.blp)

    from app.api import admin, users, waitlist  # accounts and staff routes (issue 4), waiting lists

    for module in (users, admin, waitlist):
        api.register_blueprint(module.blp)
    document_websocket()


def document_websocket() -> None:
    """flask-sock routes are invisible to flask-smorest; describe the seat socket by hand."""
    api.spec.path(
        rule=Rule("/api/showtimes/<int:showtime_id>/seats/ws"),
        parameters=[
            {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "an access token, so the snapshot marks the caller's own holds as mine"},
        ],
        operations={"get": {
            "tags": ["holds"],
            "summary": "Live seat map (WebSocket)",
            "description": (
                "Upgrade to a WebSocket. The first message is "
                '`{"type": "snapshot", "version": N, "seats": [...]}`; then every change arrives as '
                '`{"type": "seat_locked" | "seat_released" | "seat_booked" | "seat_update", '
                '"seat_ids": [...], "version": N}` with `version` strictly increasing: a gap means '
                "re-fetch the seat map. No holder identities are sent. The server pings to keep the "
                "connection alive behind proxies."
            ),
            "responses": {"101": {"description": "switching protocols"},
                          "404": {"description": "showtime_not_found"}},
        }},
    )
