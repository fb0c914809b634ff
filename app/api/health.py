"""Health checks for load balancers and operators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.errors import ServiceUnavailable
from app.extensions import db, get_redis

blp = Blueprint("health", __name__, url_prefix="/api", description="Health checks")


class HealthSchema(Schema):
    status = fields.String()
    message = fields.String()
    database = fields.String()
    redis = fields.String()


@blp.route("/")
@blp.response(200, HealthSchema)
def root() -> dict[str, Any]:
    """A health message."""
    return {"status": "ok", "message": "CineVerse API is running. Docs at /api/docs."}


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="database_unavailable")
def health() -> dict[str, Any]:
    """Liveness plus a database round trip."""
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


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
