"""The seat WebSocket (`WS /api/showtimes/<id>/seats/ws`) and the per-process Redis subscriber."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Flask, current_app, request
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from simple_websocket import ConnectionClosed

from app import metrics
from app.errors import NotFound
from app.extensions import db, sock
from app.realtime.hub import Client, Hub, get_hub, serve
from app.services import realtime
from app.services.catalogue import get_showtime

log = logging.getLogger(__name__)

bp = Blueprint("realtime", __name__)

POLICY_VIOLATION = 1008


def init_app(app: Flask) -> None:
    """Register the WebSocket route and this process's (not yet started) hub."""
    app.extensions["realtime_hub"] = Hub(app)
    app.register_blueprint(bp)


def _viewer(token: str | None) -> str | None:
    if not token:
        return None
    return str(decode_token(token)["sub"])


@sock.route("/api/showtimes/<int:showtime_id>/seats/ws", bp=bp)
def seats_ws(ws, showtime_id: int) -> None:  # type: ignore[no-untyped-def]
    """Snapshot of the seats, then every seat event of the showtime; `?token=` marks the viewer's holds."""
    metrics.skip_http_metrics()
    try:
        viewer = _viewer(request.args.get("token"))
        get_showtime(showtime_id)
    except (JWTExtendedException, PyJWTError):
        ws.send(json.dumps({"type": "error", "error": {"code": "invalid_token", "message": "The token is not valid."}}))
        ws.close(reason=POLICY_VIOLATION, message="invalid token")
        return
    except NotFound as exc:
        ws.send(json.dumps({"type": "error", **exc.to_dict()}))
        ws.close(reason=POLICY_VIOLATION, message="unknown showtime")
        return
    finally:
        db.session.remove()  # a socket lives long; it must not keep a pooled connection

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hub = get_hub(app)
    client = Client(ws, showtime_id, viewer, max_queue=int(app.config.get("WS_MAX_QUEUE", 1000)))

    def snapshot() -> dict:  # type: ignore[type-arg]
        try:
            return realtime.snapshot_message(get_showtime(showtime_id), viewer)
        finally:
            db.session.remove()

    hub.add(client)
    try:
        with metrics.websocket_open():
            serve(client, snapshot, heartbeat_s=float(app.config.get("WS_HEARTBEAT_S", 25)))
    except (ConnectionClosed, OSError):
        pass  # the client went away mid-send
    finally:
        hub.remove(client)
