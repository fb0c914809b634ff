"""One exception tree and the JSON error handlers.

Every error leaves as `{"error": {"code", "message", "details"}}` with the status its class carries.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every domain error: an HTTP status, a stable code and readable words."""

    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}
        if code:
            self.code = code
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationError(AppError):
    status = 422
    code = "validation_error"
    message = "The request is not valid."


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "The resource was not found."


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "Authentication is required."


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class Gone(AppError):
    status = 410
    code = "gone"
    message = "The resource is no longer available."


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    message = "Too many requests; try again later."


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message = "A service this request needs is unavailable; try again shortly."


class PoolExhausted(redis.exceptions.ConnectionError):
    """Every connection of this process's Redis pool stayed busy for the whole pool timeout
    (app/extensions.WaitingConnectionPool): the server is at capacity, Redis itself is fine."""


class InvalidSignature(AppError):
    """A gateway signature (payment or webhook) or a signed reference that is missing or does not match."""

    status = 400
    code = "invalid_signature"
    message = "The signature is missing or does not match."


class PaymentError(AppError):
    status = 402
    code = "payment_failed"
    message = "The payment could not be completed."


# Codes for statuses werkzeug raises itself (routing, method, body parsing).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def http_exception_body(exc: HTTPException) -> tuple[dict[str, Any], int]:
    """Turn a werkzeug/webargs HTTPException into our error shape."""
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    details: dict[str, Any] = {}
    message = exc.description or exc.name
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        # webargs puts field errors under data["messages"][location]
        messages = data.get("messages")
        if messages:
            fields: dict[str, Any] = {}
            for location_errors in messages.values() if isinstance(messages, dict) else []:
                if isinstance(location_errors, dict):
                    fields.update(location_errors)
            details["fields"] = fields or messages
            message = "The request is not valid: " + ", ".join(sorted(map(str, fields))) if fields else message
            code = "validation_error"
    if status == 400 and code == "bad_request" and "JSON" in (exc.description or ""):
        code = "invalid_json"
    return {"error": {"code": code, "message": message, "details": details}}, status


def error_response(exc: AppError) -> Response:
    """The JSON response for a domain error: its body, status and headers (Retry-After...)."""
    response = jsonify(exc.to_dict())
    response.status_code = exc.status
    for key, value in exc.headers.items():
        response.headers[key] = value
    return response


def http_error_response(exc: HTTPException) -> Response:
    """The JSON response for a werkzeug/webargs HTTPException (405 keeps Allow, 429 Retry-After)."""
    body, status = http_exception_body(exc)
    response = jsonify(body)
    response.status_code = status
    if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


# lock_not_available (lock_timeout ran out, app/services/locking.py) and deadlock_detected: the database is
# fine, the row is busy.
_BUSY_PGCODES = {"55P03", "40P01"}


def exception_response(exc: Exception) -> Response:
    """The response the app's error handlers give for exc: the handlers below call it, and so does code
    that answers outside Flask's dispatch (app/hotpath/lane.py)."""
    if isinstance(exc, AppError):
        return error_response(exc)
    if isinstance(exc, HTTPException):
        return http_error_response(exc)
    if isinstance(exc, (PoolExhausted, sqlalchemy.exc.TimeoutError)):
        # a pool stayed empty for its whole timeout: truly full, so shed this request with a short wait
        log.warning("connection pool exhausted: %s", exc)
        return error_response(ServiceUnavailable("The server is at capacity; try again in a moment.",
                                                 code="server_busy", headers={"Retry-After": "1"}))
    # RedisClusterException is not a RedisError (redis-py): a cluster that cannot be reached, a slot not covered
    if isinstance(exc, (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)):
        log.warning("redis unavailable: %s", exc)
        return error_response(ServiceUnavailable("The seat lock store is unavailable; try again shortly.",
                                                 code="redis_unavailable", headers={"Retry-After": "5"}))
    if isinstance(exc, sqlalchemy.exc.OperationalError) and getattr(exc.orig, "pgcode", None) in _BUSY_PGCODES:
        log.info("row lock not granted in time: %s", str(exc.orig).strip().splitlines()[0])
        return error_response(ServiceUnavailable("Someone else is changing this right now; try again in a moment.",
                                                 code="busy", headers={"Retry-After": "1"}))
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        log.warning("database unavailable: %s", exc)
        return error_response(ServiceUnavailable("The database is unavailable; try again shortly.",
                                                 code="database_unavailable", headers={"Retry-After": "5"}))
    log.exception("unhandled error", exc_info=exc)
    response = jsonify({"error": {"code": "internal_error", "message": "An unexpected error occurred.",
                                  "details": {}}})
    response.status_code = 500
    return response


def register_error_handlers(app: Flask) -> None:
    # Flask picks the handler of the closest class; each one answers with exception_response.
    for kind in (AppError, HTTPException, redis.exceptions.RedisError, redis.exceptions.RedisClusterException,
                 sqlalchemy.exc.OperationalError, Exception):
        app.register_error_handler(kind, exception_response)
