"""The seat WebSocket (`WS /api/showtimes/<id>/seats/ws`) and the per-process Redis subscriber.

The protocol is server-to-client: a snapshot, then seat events. A signed-in client offers two
subprotocols, `cineverse.v1` and `bearer.<access token>` (browsers cannot set headers on a WebSocket,
and a URL ends up in proxies' logs); the server answers `cineverse.v1`. A `?token=` is refused.

Before the upgrade, answered as JSON errors: a token in the URL or a malformed subprotocol offer (400),
a handshake wsproto refuses (400), an address over WS_MAX_PER_IP open sockets (429). After it, as an
`{"type": "error", "error": {...}}` message and a 1008 close, which a browser can read: a token the
HTTP routes would refuse (the same codes) and an unknown showtime. app/realtime/server.py bounds what
a client can make the server buffer or wait for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, request
from flask_jwt_extended import decode_token, get_unverified_jwt_headers
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_jwt_extended.internal_utils import (
    custom_verification_for_token,
    verify_token_not_blocklisted,
    verify_token_type,
)
from jwt import PyJWTError
from simple_websocket import ConnectionClosed
from simple_websocket import ConnectionError as HandshakeFailed
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from app import metrics
from app.errors import AppError, NotFound, TooManyRequests
from app.extensions import db, remote_address
from app.realtime import ipslots
from app.realtime.hub import Client, Hub, get_hub, serve
from app.realtime.server import POLICY_VIOLATION, SUBPROTOCOL, SeatServer, SendTimeout, UpgradedResponse
from app.services.auth import user_from_identity
from app.services.catalogue import get_showtime
from app.services.seats import events

log = logging.getLogger(__name__)

INTERNAL_ERROR = 1011

bp = Blueprint("realtime", __name__)

BEARER = "bearer."


class BadUpgrade(AppError):
    code = "bad_handshake"
    message = "The WebSocket handshake is not valid."


class TokenInUrl(BadUpgrade):
    code = "token_in_url"
    message = f"Send the token as the WebSocket subprotocol '{BEARER}<token>' (with '{SUBPROTOCOL}'), never in the URL."


class BadSubprotocol(BadUpgrade):
    code = "bad_subprotocol"
    message = f"Offer the subprotocol '{SUBPROTOCOL}', and at most one '{BEARER}<token>' with it."


class TooManySockets(TooManyRequests):
    code = "too_many_sockets"
    message = "Too many seat-map connections from this address; close one and try again."


def init_app(app: Flask) -> None:
    """Register the WebSocket route and this process's (not yet started) hub."""
    from app.realtime.queue_ws import QueueWatch, queue_ws

    app.extensions["realtime_hub"] = Hub(app)
    app.extensions["queue_watch"] = QueueWatch(app)
    app.register_blueprint(bp)
    app.add_url_rule("/api/showtimes/<int:showtime_id>/queue/ws", "queue_ws", queue_ws, websocket=True)


def _offered_token() -> str | None:
    """The access token of the `bearer.` subprotocol, None for an anonymous viewer. Raises TokenInUrl
    and BadSubprotocol."""
    if "token" in request.args:
        raise TokenInUrl()
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    offered = [p.strip() for p in header.split(",") if p.strip()]
    if not offered:
        return None
    bearers = [p[len(BEARER) :] for p in offered if p.startswith(BEARER)]
    if SUBPROTOCOL not in offered or len(bearers) > 1 or bearers == [""]:
        raise BadSubprotocol(details={"offered": [p for p in offered if not p.startswith(BEARER)]})
    return bearers[0] if bearers else None


def _viewer(token: str | None, load_user: bool = True) -> str | None:
    """The user the token names, checked as a JWT-protected route checks its bearer header: the decode
    (signature, expiry), an access token only, the app's blocklist callback (revoked token, ended
    session, suspended user), then an active user. flask-jwt-extended runs these steps only on a token
    found in the request's configured locations, hence its own step functions here. Without `load_user`
    the user row is not read: the blocklist callback already refuses a suspended user (its revocation
    mirror), which is all a jwt_required route checks (the queue socket, like the queue routes)."""
    if token is None:
        return None
    claims = decode_token(token)
    verify_token_type(claims, refresh=False)
    header = get_unverified_jwt_headers(token)
    verify_token_not_blocklisted(header, claims)
    custom_verification_for_token(header, claims)
    if not load_user:
        return str(claims[jwt_config.identity_claim_key])
    return str(user_from_identity(claims[jwt_config.identity_claim_key]).id)


def _error_message(exc: Exception) -> str:
    """The error body the app's handlers give exc over HTTP, as a socket message."""
    response = current_app.make_response(current_app.handle_user_exception(exc))
    return json.dumps({"type": "error", **(response.get_json() or {})})


SocketRun = Callable[[SeatServer, "str | None", ipslots.Slot], None]


def serve_socket(showtime_id: int, kind: str, run: SocketRun) -> Response:
    """What every socket route does around its own `run(ws, token, slot)`: the token offer, the per-IP
    slot, the upgrade (refusals before it as JSON errors), and past it the ends a socket may come to."""
    metrics.skip_http_metrics()  # refusals before the upgrade included: the route is a socket, not a request
    token = _offered_token()
    slot = ipslots.acquire(remote_address())
    if slot is None:
        raise TooManySockets(details={"limit": current_app.config["WS_MAX_PER_IP"]})
    try:
        try:
            ws = SeatServer(request.environ, send_timeout=float(current_app.config["WS_SEND_TIMEOUT_S"]))
        except (RemoteProtocolError, HandshakeFailed) as exc:
            raise BadUpgrade(details={"reason": str(exc)}) from exc
        try:
            run(ws, token, slot)
        except SendTimeout:
            log.info("dropped a %s socket of showtime %s that stopped reading", kind, showtime_id)
        except (ConnectionClosed, OSError, LocalProtocolError):
            pass  # the client went away mid-send, or sent something and was closed
        except Exception:  # past the upgrade an HTTP error answer would only garble the stream
            log.exception("%s socket of showtime %s failed", kind, showtime_id)
            ws.close_quietly(INTERNAL_ERROR)
        finally:
            ws.close_quietly()
    finally:
        slot.release()
    return UpgradedResponse(ws)


@bp.route("/api/showtimes/<int:showtime_id>/seats/ws", websocket=True)
def seats_ws(showtime_id: int) -> Response:
    """Snapshot of the seats, then every seat event of the showtime; a `bearer.` subprotocol marks the
    viewer's holds (see the module docstring)."""
    return serve_socket(showtime_id, "seat", lambda ws, token, slot: _run(ws, showtime_id, token, slot))


def _refuse(ws: SeatServer, exc: Exception, reason: str) -> None:
    ws.send(_error_message(exc))
    ws.close(reason=POLICY_VIOLATION, message=reason)


def _run(ws: SeatServer, showtime_id: int, token: str | None, slot: ipslots.Slot) -> None:
    try:
        try:
            viewer = _viewer(token)
        except (JWTExtendedException, PyJWTError, AppError) as exc:
            _refuse(ws, exc, "token refused")
            return
        try:
            get_showtime(showtime_id)
        except NotFound as exc:
            _refuse(ws, exc, "unknown showtime")
            return
    finally:
        db.session.remove()  # a socket lives long; it must not keep a pooled connection

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hub = get_hub(app)
    client = Client(ws, showtime_id, viewer, max_queue=int(app.config.get("WS_MAX_QUEUE", 1000)))

    def snapshot() -> tuple[int | None, str]:
        try:
            return events.snapshot_message(showtime_id, viewer)
        finally:
            db.session.remove()

    ws.on_closed = client.wake  # the loop wakes when the connection ends, so it need not poll for it
    hub.add(client)
    heartbeat = float(app.config.get("WS_HEARTBEAT_S", 25))
    try:
        with metrics.websocket_open():
            # idle, a socket wakes about twice per heartbeat (pings, its slot's renewal), not every second:
            # 10,000 idle sockets polling each second took a third of a core (bench/RESULTS.md)
            serve(client, snapshot, heartbeat_s=heartbeat, poll_s=heartbeat / 2, tick=slot.renew_if_due)
    finally:
        hub.remove(client)
