"""Prometheus metrics, served at `/metrics` (site root) by prometheus_client.

One process (the embedded default, the tests, `flask run`): the metrics live in prometheus_client's
default registry. Several processes (gunicorn workers, a Celery worker on the same host): set
`PROMETHEUS_MULTIPROC_DIR` before the processes start; every process then writes its values to files
there and a scrape merges them (prometheus_client's multiprocess mode). app/gunicorn_conf.py prepares
the directory and tells prometheus_client when a worker dies.

Label values are bounded: a route is its URL rule (`/api/showtimes/<int:showtime_id>/seats`), never the
path asked for; a refusal is its stable error code; a task is its registered name.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

# prometheus_client picks its value store when it is imported, from whether the variable is *present*:
# a blank one (`PROMETHEUS_MULTIPROC_DIR=` in a .env or a compose file) would put the files in the
# working directory, so blank means unset.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

from prometheus_client import (  # noqa: E402  (after the variable is settled, see above)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from app.errors import NotFound, Unauthorized  # noqa: E402

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# ---- the metrics --------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "cineverse_http_requests", "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "cineverse_http_request_duration_seconds", "Time from the first request hook to the response, by route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# livesum: a scrape adds up the processes still alive (gunicorn_conf drops a dead worker's share).
WEBSOCKETS_OPEN = Gauge(
    "cineverse_websocket_connections", "Seat-map WebSocket connections open now.", multiprocess_mode="livesum",
)
SEAT_LOCKS_GRANTED = Counter("cineverse_seat_locks_granted", "Seat lock requests granted (all seats held).")
SEAT_LOCKS_REFUSED = Counter(
    "cineverse_seat_locks_refused", "Seat lock requests refused, by error code (seat_taken, ...).", ["reason"],
)
SEAT_HOLDS_RELEASED = Counter(
    "cineverse_seat_holds_released", "Seats whose hold was released by its holder, by event "
    "(seat_released: unlocked; seat_booked: sold).", ["event"],
)
SEAT_HOLDS_EXPIRED = Counter("cineverse_seat_holds_expired", "Seats released by the expiry sweep.")
WEBHOOKS_RECEIVED = Counter(
    "cineverse_payment_webhooks_received", "Payment webhooks received, by outcome (accepted, duplicate, or "
    "the error code of a refusal).", ["outcome"],
)
QUEUE_ADMISSIONS = Counter("cineverse_queue_admissions", "Buyers admitted from a waiting room to the sale.")
QUEUE_WAIT = Histogram(
    "cineverse_queue_wait_seconds", "Time from joining a waiting room to being admitted.",
    buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0),
)
CELERY_TASKS_STARTED = Counter("cineverse_celery_tasks_started", "Celery tasks started, by task name.", ["task"])
CELERY_TASKS_FINISHED = Counter(
    "cineverse_celery_tasks_finished", "Celery task runs finished, by task name and state "
    "(SUCCESS, FAILURE, RETRY, ...).", ["task", "state"],
)
CELERY_TASK_FAILURES = Counter(
    "cineverse_celery_task_failures", "Celery task runs that raised, by task name and exception class.",
    ["task", "exception"],
)
CELERY_TASKS_PARKED = Counter(
    "cineverse_celery_tasks_parked", "Celery tasks parked instead of run: delivered more than "
    "TASK_MAX_DELIVERIES times (each delivery ended its worker), by task name.", ["task"],
)
CELERY_TASK_RUNTIME = Histogram(
    "cineverse_celery_task_runtime_seconds", "Celery task run time, by task name.", ["task"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


def exposition() -> bytes:
    """Every metric in the text format: merged from every process's files in multiprocess mode, and the
    waiting rooms' gauges read from Redis at the scrape (the queue is Redis's, not a process's)."""
    live = CollectorRegistry()
    for collector in _LIVE_COLLECTORS:
        live.register(collector)
    if MULTIPROCESS:
        # A registry per scrape, as prometheus_client's docs ask: the process's own metrics must not
        # be collected a second time beside the files.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry) + generate_latest(live)
    return generate_latest(REGISTRY) + generate_latest(live)


_LIVE_COLLECTORS: list[Any] = []


def add_live_collector(collector: Any) -> None:
    """A collector read at every scrape, beside the counters (state that lives in Redis, not in a process:
    app.services.waiting_room.gauges). Registered once per process."""
    if all(type(c) is not type(collector) for c in _LIVE_COLLECTORS):
        _LIVE_COLLECTORS.append(collector)


# ---- HTTP ---------------------------------------------------------------------------------------

_STARTED = "cineverse.metrics.started"
# (method, route, status) -> its counter and histogram: labels() costs five times the increments, and the
# keys are as bounded as the labels
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _start_timer() -> None:
    request.environ[_STARTED] = time.perf_counter()


def observe_request(method: str, route: str, status: int, started: float) -> None:
    """Count one answered request and its time since `started` (time.perf_counter())."""
    key = (method, route, status)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(method, route))
    series[0].inc()
    series[1].observe(time.perf_counter() - started)


def _record(response: Response) -> Response:
    started = request.environ.pop(_STARTED, None)
    if started is None:  # a WebSocket (skip_http_metrics) or a request that never reached the hooks
        return response
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED_ROUTE
    method = request.method if request.method in _METHODS else "other"  # any token is a method to werkzeug
    observe_request(method, route, response.status_code, started)
    return response


def skip_http_metrics() -> None:
    """Leave this request out of the HTTP metrics: a WebSocket lives for minutes, and
    WEBSOCKETS_OPEN counts it instead."""
    request.environ.pop(_STARTED, None)


@contextmanager
def websocket_open() -> Iterator[None]:
    """Count a WebSocket as open for the duration of the block."""
    WEBSOCKETS_OPEN.inc()
    try:
        yield
    finally:
        WEBSOCKETS_OPEN.dec()


# ---- the endpoint -------------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def _check_token() -> None:
    expected: str | None = current_app.config.get("METRICS_TOKEN")
    if not expected:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("A bearer token is required for the metrics.",
                           headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    # Bytes, so that a header with characters outside ASCII is a wrong token rather than a TypeError.
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode("utf-8")):
        raise Unauthorized("The metrics token is not valid.", code="invalid_token",
                           headers={"WWW-Authenticate": 'Bearer realm="metrics", error="invalid_token"'})


@bp.route("/metrics")
def metrics() -> Response:
    """Prometheus text exposition; `Authorization: Bearer <METRICS_TOKEN>` when a token is set."""
    if not current_app.config.get("METRICS_ENABLED", True):
        raise NotFound("Metrics are turned off (METRICS_ENABLED=false).")
    _check_token()
    response = Response(exposition(), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register /metrics (always: turned off it answers 404 instead of falling through to the SPA page)
    and, when enabled, time every request."""
    from app.extensions import limiter

    # `_created` samples would double the series of every counter; multiprocess mode has none either.
    disable_created_metrics()
    limiter.exempt(bp)  # a scraper polls every few seconds from one address; it must never see 429
    app.register_blueprint(bp)
    _document()
    if not app.config.get("METRICS_ENABLED", True):
        return
    # First of the before-request hooks, so that a request refused by a later one (the input check, the
    # rate limiter) is still timed and counted.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_record)


def _document() -> None:
    """/metrics is not a flask-smorest route; describe it in the OpenAPI document by hand."""
    from werkzeug.routing import Rule

    from app.extensions import api

    api.spec.components.security_scheme("metricsToken", {"type": "http", "scheme": "bearer"})
    api.spec.path(rule=Rule("/metrics"), operations={"get": {
        "tags": ["health"],
        "summary": "Prometheus metrics",
        "description": "The Prometheus text format. With METRICS_TOKEN set, send it as "
                       "`Authorization: Bearer <METRICS_TOKEN>`. Never rate limited.",
        "security": [{}, {"metricsToken": []}],
        "responses": {"200": {"description": "text/plain exposition"},
                      "401": {"description": "unauthorized, invalid_token (METRICS_TOKEN is set)"},
                      "404": {"description": "not_found: METRICS_ENABLED is false"}},
    }})


# ---- Celery -------------------------------------------------------------------------------------

_started: dict[str, list[float]] = {}


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def _on_prerun(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    CELERY_TASKS_STARTED.labels(_task_name(sender)).inc()
    if task_id:
        # a list: an eager retry runs the same task id again inside the first run
        _started.setdefault(task_id, []).append(time.perf_counter())


def _on_postrun(sender: Any = None, task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    name = _task_name(sender)
    CELERY_TASKS_FINISHED.labels(name, state or "UNKNOWN").inc()
    starts = _started.get(task_id or "")
    if starts:
        CELERY_TASK_RUNTIME.labels(name).observe(time.perf_counter() - starts.pop())
        if not starts:
            _started.pop(task_id or "", None)


def _on_failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    CELERY_TASK_FAILURES.labels(_task_name(sender), type(exception).__name__).inc()


def init_celery() -> None:
    """Count and time every task run in this process through Celery's signals (connected once however
    many apps are made; postrun's state covers retries, task_retry would count them twice)."""
    from celery import signals

    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="cineverse.metrics.prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="cineverse.metrics.postrun")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="cineverse.metrics.failure")
