"""Servers on free loopback ports and a WebSocket reader for the realtime tests."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import websocket
from flask import Flask
from werkzeug.serving import make_server

from tests.processes import gunicorn

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[int]:
    """The app under werkzeug's threaded server in this process; yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def gunicorn_process(database_url: str, redis_url: str, threads: int = 20) -> Iterator[int]:
    """`gunicorn wsgi:app` (the production entry point, gthread) in its own process; yields the port."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_EAGER": "false",
           "SECRET_KEY": os.environ["SECRET_KEY"], "JWT_SECRET_KEY": os.environ["JWT_SECRET_KEY"],
           "LOG_LEVEL": "WARNING"}
    with gunicorn(env, "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
                  "--timeout", "60") as port:
        yield port


def connect(port: int, showtime_id: int, token: str | None = None, timeout: float = 5.0) -> websocket.WebSocket:
    url = f"ws://127.0.0.1:{port}/api/showtimes/{showtime_id}/seats/ws"
    if token:
        url += f"?token={token}"
    return websocket.create_connection(url, timeout=timeout)


def receive(ws: websocket.WebSocket, timeout: float = 5.0) -> dict:
    ws.settimeout(timeout)
    return json.loads(ws.recv())


def receive_until(ws: websocket.WebSocket, predicate, timeout: float = 5.0) -> list[dict]:
    """Messages up to and including the first that satisfies predicate (fails on timeout)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = receive(ws, max(0.05, deadline - time.monotonic()))
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"no matching message within {timeout}s; got {seen}")


def wait_for(condition, timeout: float = 5.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
