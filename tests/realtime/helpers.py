"""Servers on free loopback ports and a WebSocket reader for the realtime tests."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
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
def gunicorn_process(database_url: str, redis_url: str, threads: int = 20, gevent: bool = False,
                     env: dict[str, str] | None = None) -> Iterator[int]:
    """`gunicorn wsgi:app` in its own process, one worker: gthread, or with `gevent` the deployed
    configuration (app/gunicorn_conf.py); `env` adds settings. Yields the port."""
    settings = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_EAGER": "false",
                "SECRET_KEY": os.environ["SECRET_KEY"], "JWT_SECRET_KEY": os.environ["JWT_SECRET_KEY"],
                "LOG_LEVEL": "WARNING", **(env or {})}
    workers = ("-c", "app/gunicorn_conf.py") if gevent else ("--worker-class", "gthread", "--threads", str(threads))
    with gunicorn(settings, *workers, "--workers", "1", "--timeout", "60") as port:
        yield port


SUBPROTOCOL = "cineverse.v1"


def connect(port: int, showtime_id: int, token: str | None = None, timeout: float = 5.0) -> websocket.WebSocket:
    """A seat socket; a token travels as the `bearer.<token>` subprotocol, as the frontend sends it."""
    url = f"ws://127.0.0.1:{port}/api/showtimes/{showtime_id}/seats/ws"
    subprotocols = [SUBPROTOCOL, f"bearer.{token}"] if token else None
    return websocket.create_connection(url, timeout=timeout, subprotocols=subprotocols)


def raw_handshake(port: int, path: str, headers: dict[str, str] | None = None,
                  rcvbuf: int | None = None) -> tuple[socket.socket, bytes]:
    """A WebSocket upgrade written by hand (headers a library would not send, a tiny receive buffer);
    returns the socket and the server's answer up to the end of its headers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect, so the window offered to the server stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)  # one byte at a time: nothing after the headers is consumed
        if not chunk:
            break
        answer += chunk
    return sock, answer


def client_frame(opcode: int, payload: bytes, rsv1: bool = False, fin: bool = True) -> bytes:
    """One masked client-to-server frame (RFC 6455 5.2); rsv1 marks it compressed (permessage-deflate)."""
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return head + mask + masked


def close_code(ws: websocket.WebSocket, timeout: float = 5.0) -> int | None:
    """Read until the server's close frame and return its code; None when the connection was cut without one."""
    ws.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            opcode, frame = ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            return None
        except (ConnectionError, BrokenPipeError):
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
    raise AssertionError(f"the server did not close within {timeout}s")


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
