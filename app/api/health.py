"""Health checks for load balancers and operators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.errors import ServiceUnavailable
from app.extensions import db, get_redis
from app.services import health as health_service

blp = Blueprint("health", __name__, url_prefix="/api", description="Health checks")


class WorkersSchema(Schema):
    mode = fields.String(metadata={"description": "celery, or in-process (the embedded default)"})
    online = fields.Integer(metadata={"description": "Celery workers that answered a ping"})
    beat_last_run_s = fields.Float(allow_none=True, metadata={"description": "seconds since beat's heartbeat ran"})
    healthy = fields.Boolean()


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok, or degraded (Redis, the workers or beat)"})
    message = fields.String()
    database = fields.String()
    redis = fields.String()
    workers = fields.Nested(WorkersSchema)


@blp.route("/")
@blp.response(200, HealthSchema)
def root() -> dict[str, Any]:
    """A health message."""
    return {"status": "ok", "message": "CineVerse API is running. Docs at /api/docs."}


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="database_unavailable")
def health() -> dict[str, Any]:
    """The database (503 when it does not answer), Redis and the Celery workers and beat (`degraded` when
    Redis is down, no worker answers or beat is late; the workers' answer is cached a few seconds)."""
    db.session.execute(sa.text("SELECT 1"))
    db.session.remove()  # its connection back to the pool before anything here may wait
    try:
        get_redis().ping()
        redis_state = "ok"
    except Exception:  # noqa: BLE001  (any client error: unavailable)
        redis_state = "unavailable"
    background = health_service.workers()
    healthy = redis_state == "ok" and background["healthy"]
    return {"status": "ok" if healthy else "degraded", "database": "ok", "redis": redis_state, "workers": background}


@blp.route("/health/redis")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="redis_unavailable")
def health_redis() -> dict[str, Any]:
    """Whether the Redis lock store answers."""
    try:
        get_redis().ping()
    except Exception as exc:  # any client error means the same thing to an operator
        raise ServiceUnavailable("Redis does not answer.", code="redis_unavailable",
                                 details={"reason": type(exc).__name__}) from exc
    return {"status": "ok", "redis": "ok"}
