"""Logs: human-readable lines by default (`make run`), JSON lines with LOG_FORMAT=json (python-json-logger),
one object per line with `time`, `level`, `logger`, `message` and the record's own fields.

- One line per request (`request_id`, `method`, `route`, `path`, `status`, `duration_ms`, `user_id`) from a
  WSGI middleware outside everything else, so the hold lane's answers are logged like the views'.
- One line per Celery task run (`task_id`, `task`, `state`, `runtime_ms`), from Celery's signals.
- X-Request-ID: a well-formed one the client or the proxy sent is kept, else one is made; every answer
  carries it, and the request's log lines name it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID = re.compile(r"\A[A-Za-z0-9._:-]{1,64}\Z")
REQUEST_ID_KEY = "cineverse.request_id"  # environ keys: the request's id, its route and its user
ROUTE_KEY = "cineverse.route"
USER_KEY = "cineverse.user_id"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

requests_log = logging.getLogger("cineverse.requests")
tasks_log = logging.getLogger("cineverse.tasks")


def configure(level: str, fmt: str) -> None:
    """The root logger's one handler: text (the default) or JSON lines (`fmt` == "json")."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(formatter)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Body:
    """The response body, passed through; the request's line is logged once, when the body has been sent
    (or the server closes it early)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self.body, self._done, self.logged = body, done, False

    def done(self) -> None:
        if not self.logged:
            self.logged = True
            self._done()

    def __iter__(self) -> Iterator[bytes]:
        yield from self.body
        self.done()

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


class RequestLog:
    """X-Request-ID in and out, and one log line per request."""

    def __init__(self, wsgi_app: WSGIApp) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sent = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex
        environ[REQUEST_ID_KEY] = request_id
        started = time.perf_counter()
        status: list[str] = []

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[:] = [code]
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            return start_response(code, headers, exc_info)

        def done() -> None:
            _log_request(environ, status[0] if status else "500", started)

        try:
            body = self.wsgi_app(environ, start)
        except StopIteration:
            # flask-sock ends a WebSocket under gunicorn this way, having answered 101 itself
            if environ.get("HTTP_UPGRADE", "").lower() == "websocket" and not status:
                status[:] = ["101 Switching Protocols"]
            done()
            raise
        except BaseException:
            done()
            raise
        return _Body(body, done)


def _route(environ: dict[str, Any]) -> str | None:
    route = environ.get(ROUTE_KEY)
    return str(route) if route else None


def _note_route(_sender: Any, **_: Any) -> None:
    """Flask's request_started signal (a signal, not a hook: the hold lane knows every hook of the app)."""
    from flask import request

    if request.url_rule is not None:
        request.environ[ROUTE_KEY] = request.url_rule.rule


def install(app: Any) -> None:
    """Wrap the app (outermost) and note each request's route for its line."""
    from flask import request_started

    request_started.connect(_note_route, app, weak=False)
    app.wsgi_app = RequestLog(app.wsgi_app)


def _log_request(environ: dict[str, Any], status: str, started: float) -> None:
    if not requests_log.isEnabledFor(logging.INFO):
        return
    fields = {"request_id": environ.get(REQUEST_ID_KEY), "method": environ.get("REQUEST_METHOD"),
              "route": _route(environ), "path": environ.get("PATH_INFO"), "status": int(status.split(" ", 1)[0]),
              "duration_ms": round((time.perf_counter() - started) * 1000, 2), "user_id": environ.get(USER_KEY)}
    # %r: a percent-decoded path may hold a line break, which must not forge a line of the text log
    requests_log.info("%s %r %s %sms", fields["method"], fields["path"], fields["status"], fields["duration_ms"],
                      extra=fields)


# ---- Celery --------------------------------------------------------------------------------------

_started: dict[str, float] = {}
_started_lock = threading.Lock()


def task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        with _started_lock:
            _started[task_id] = time.perf_counter()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    with _started_lock:
        began = _started.pop(task_id or "", None)
    runtime = round((time.perf_counter() - began) * 1000, 2) if began is not None else None
    name = getattr(task, "name", None)
    # the every-second beat tasks that went well are DEBUG: at INFO they would be most of the log
    level = logging.DEBUG if name in QUIET_TASKS and state == "SUCCESS" else logging.INFO
    tasks_log.log(level, "task %s %s %s %sms", name, task_id, state, runtime,
                  extra={"task_id": task_id, "task": name, "state": state, "runtime_ms": runtime})


QUIET_TASKS = frozenset({"workers.holds.expire_holds", "workers.waiting_room.admit_queues",
                         "workers.health.beat_heartbeat"})


def _celery_logging(**_: Any) -> None:
    """Celery's setup_logging signal: the worker and beat log as the web does (LOG_FORMAT), instead of
    Celery replacing the root logger's handlers with its own text format."""
    import os

    configure(os.environ.get("LOG_LEVEL", "INFO"), os.environ.get("LOG_FORMAT", "text"))


def connect_task_signals() -> None:
    from celery.signals import setup_logging, task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False, dispatch_uid="cineverse.logs.task_started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="cineverse.logs.task_finished")
    setup_logging.connect(_celery_logging, weak=False, dispatch_uid="cineverse.logs.celery_logging")
