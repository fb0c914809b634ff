"""The seat WebSocket against hostile or broken clients: the token's transport and checks, client messages,
compression, clients that stop reading, and sockets per IP (security review: WebSocket memory exhaustion)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import websocket
from flask_jwt_extended import decode_token

from app import metrics
from app.extensions import db, get_redis
from app.realtime.hub import get_hub
from app.services import auth, revocation
from app.services.seats import holds
from tests.conftest import DATABASE_URL, REDIS_URL, make_test_app
from tests.factories import make_showtime, make_user
from tests.metrics_support import parse, value
from tests.realtime.helpers import (
    SUBPROTOCOL,
    client_frame,
    close_code,
    connect,
    gunicorn_process,
    raw_handshake,
    receive,
    serve_in_thread,
    wait_for,
)

TEXT, BINARY = 0x1, 0x2


def _path(showtime_id: int) -> str:
    return f"/api/showtimes/{showtime_id}/seats/ws"


def _rss() -> int:
    """This process's resident memory in bytes (the in-process server's buffers count here)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def _open_sockets() -> float:
    return metrics.WEBSOCKETS_OPEN._value.get()  # type: ignore[attr-defined]


@pytest.fixture()
def live(app, ctx):
    """The session app on a loopback port in this process, a showtime, and a user with a session."""
    showtime = make_showtime()
    user = make_user()
    with serve_in_thread(app) as port:
        yield {"app": app, "port": port, "showtime": showtime.id, "user": user, "tokens": auth.token_pair(user)}
    get_hub(app).stop()


def _refused(port: int, path: str, subprotocols: list[str] | None = None) -> tuple[int, dict]:
    """The HTTP status and JSON error of an upgrade the server refuses before switching protocols."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=5, subprotocols=subprotocols)
    return refused.value.status_code, json.loads(refused.value.resp_body or b"{}")


def _server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of the unmasked server frames in data (a cut-off last frame is left out)."""
    frames, i = [], 0
    while i + 2 <= len(data):
        opcode, n, i = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
        if n == 126:
            n, i = struct.unpack("!H", data[i:i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", data[i:i + 8])[0], i + 8
        if i + n > len(data):
            break
        frames.append((opcode, data[i:i + n]))
        i += n
    return frames


def _read_to_the_end(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes or cuts the connection; fails if it keeps it open."""
    sock.settimeout(timeout)
    seen = b""
    try:
        while chunk := sock.recv(65536):
            seen += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {timeout}s")
    except ConnectionResetError:
        pass  # closed with unread client data: a reset may overtake the close frame
    return seen


def _auth_error(port: int, showtime_id: int, token: str) -> str:
    """The error code a socket gets for its token; the server then closes with 1008."""
    ws = connect(port, showtime_id, token=token)
    message = receive(ws)
    assert message["type"] == "error"
    assert close_code(ws) == 1008
    return message["error"]["code"]


# ---- the token: a subprotocol, never the URL; checked as the HTTP routes check it ----

def test_the_token_travels_as_a_subprotocol_and_is_never_echoed(live):
    holds.lock(live["showtime"], str(live["user"].id), ["C3"])
    ws = connect(live["port"], live["showtime"], token=live["tokens"]["access_token"])
    assert ws.getsubprotocol() == SUBPROTOCOL
    assert ws.getheaders()["sec-websocket-protocol"] == SUBPROTOCOL  # the token is not sent back
    seats = {s["id"]: s for s in receive(ws)["seats"]}
    assert seats["C3"]["mine"] is True and seats["C4"]["mine"] is False
    ws.close()


def test_a_token_in_the_url_is_refused_before_the_upgrade(live):
    token = live["tokens"]["access_token"]
    status, body = _refused(live["port"], f"{_path(live['showtime'])}?token={token}")
    assert status == 400 and body["error"]["code"] == "token_in_url"


def test_a_bearer_subprotocol_needs_the_protocol_name(live):
    token = live["tokens"]["access_token"]
    status, body = _refused(live["port"], _path(live["showtime"]), subprotocols=[f"bearer.{token}"])
    assert status == 400 and body["error"]["code"] == "bad_subprotocol"


def test_a_refresh_token_is_refused(live):
    assert _auth_error(live["port"], live["showtime"], live["tokens"]["refresh_token"]) == "invalid_token"


def test_a_revoked_token_is_refused(live):
    access = live["tokens"]["access_token"]
    revocation.revoke(decode_token(access))
    db.session.commit()
    assert _auth_error(live["port"], live["showtime"], access) == "token_revoked"


def test_a_suspended_or_deactivated_user_is_refused(live):
    user, access = live["user"], live["tokens"]["access_token"]
    other = make_user()
    other_access = auth.token_pair(other)["access_token"]
    user.is_active = False
    revocation.suspend_user(user)
    other.is_active = False  # deactivated without a suspension mark: the user lookup refuses it
    db.session.commit()
    assert _auth_error(live["port"], live["showtime"], access) == "account_inactive"
    assert _auth_error(live["port"], live["showtime"], other_access) == "account_inactive"


def test_an_expired_token_is_refused_with_its_own_code(ctx):
    short = make_test_app(JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=1))
    showtime_id = make_showtime().id
    try:
        with short.app_context():
            access = auth.token_pair(make_user())["access_token"]
        time.sleep(1.2 + 0.1)  # past exp and flask-jwt-extended's default leeway of 0
        with serve_in_thread(short) as port:
            assert _auth_error(port, showtime_id, access) == "token_expired"
    finally:
        get_hub(short).stop()
        with short.app_context():
            db.engine.dispose()


def test_a_broken_handshake_is_a_400_not_a_500(live):
    sock = socket.create_connection(("127.0.0.1", live["port"]), timeout=5)
    sock.sendall((f"GET {_path(live['showtime'])} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())  # no key
    assert sock.recv(1024).split(b"\r\n")[0].split()[1] == b"400"
    sock.close()


# ---- client messages: the protocol is server-to-client only ----

@pytest.mark.parametrize("send", [lambda ws: ws.send("hello"), lambda ws: ws.send_binary(b"\x00"),
                                  lambda ws: ws.send("")], ids=["text", "binary", "empty"])
def test_any_client_message_closes_the_socket_with_1008(live, send):
    ws = connect(live["port"], live["showtime"])
    receive(ws)
    started = time.monotonic()
    send(ws)
    assert close_code(ws, timeout=3) == 1008 and time.monotonic() - started < 2
    wait_for(lambda: not get_hub(live["app"]).clients(live["showtime"]))
    other = connect(live["port"], live["showtime"])  # the server still serves others
    assert receive(other)["type"] == "snapshot"
    other.close()


def test_a_huge_message_is_cut_off_without_growing_memory(live):
    sock, answer = raw_handshake(live["port"], _path(live["showtime"]))
    assert answer.startswith(b"HTTP/1.1 101")
    size = 48 * 1024 * 1024
    chunk = client_frame(BINARY, b"\x00" * size)
    before = _rss()
    sent = [0]

    def flood() -> None:
        view = memoryview(chunk)
        try:
            while view:
                n = sock.send(view[: 1024 * 1024])
                sent[0] += n
                view = view[n:]
        except OSError:
            pass

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    sender.join(15)
    grown = _rss() - before
    frames = _server_frames(_read_to_the_end(sock, timeout=3))
    assert sent[0] < len(chunk), "the server read the whole 48 MiB message"
    assert grown < 16 * 1024 * 1024, f"memory grew by {grown >> 20} MiB"
    closes = [struct.unpack("!H", p[:2])[0] for op, p in frames if op == 0x8]
    assert closes in ([], [1009], [1008])  # 1009 when the frame's first bytes already pass the cap
    sock.close()
    other = connect(live["port"], live["showtime"])
    assert receive(other)["type"] == "snapshot"
    other.close()


def test_permessage_deflate_is_not_negotiated_and_a_compressed_frame_is_refused(live):
    sock, answer = raw_handshake(live["port"], _path(live["showtime"]),
                                 {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"})
    assert answer.startswith(b"HTTP/1.1 101")
    assert b"permessage-deflate" not in answer.lower() and b"sec-websocket-extensions" not in answer.lower()
    deflate = zlib.compressobj(wbits=-15)
    bomb = deflate.compress(b"\x00" * (64 * 1024 * 1024)) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 128 * 1024  # 64 MiB once inflated
    before = _rss()
    sock.sendall(client_frame(BINARY, bomb[:-4], rsv1=True))
    frames = _server_frames(_read_to_the_end(sock))
    assert _rss() - before < 16 * 1024 * 1024
    assert frames[0][0] == TEXT and json.loads(frames[0][1])["type"] == "snapshot"
    closes = [struct.unpack("!H", p[:2])[0] for op, p in frames if op == 0x8]
    assert closes in ([], [1002])  # RSV1 without a negotiated extension is a protocol error
    sock.close()


# ---- a client that stops reading is dropped after WS_SEND_TIMEOUT_S ----

def _flood_until(showtime_id: int, done, timeout: float) -> bool:
    """Publish big seat events until done() (a client that does not read then fills every buffer)."""
    seats = [f"{row}{n}" for row in "ABCDEFGHIJKL" for n in range(1, 19)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        for _ in range(200):
            holds.publish(showtime_id, "seat_update", seats)
        time.sleep(0.01)
    return done()


def test_a_client_that_stops_reading_is_dropped(ctx):
    slow_app = make_test_app(WS_SEND_TIMEOUT_S=1)
    showtime_id = make_showtime().id
    wait_for(lambda: _open_sockets() == 0, timeout=10)  # the sockets of earlier tests have closed
    sock = None
    try:
        with serve_in_thread(slow_app) as port:
            hub = get_hub(slow_app)
            sock, answer = raw_handshake(port, _path(showtime_id), rcvbuf=4096)  # and never reads again
            assert answer.startswith(b"HTTP/1.1 101")
            wait_for(lambda: len(hub.clients(showtime_id)) == 1)
            assert _open_sockets() == 1
            assert _flood_until(showtime_id, lambda: not hub.clients(showtime_id), timeout=30)
            wait_for(lambda: _open_sockets() == 0)
            other = connect(port, showtime_id)  # the server still serves others
            assert receive(other)["type"] == "snapshot"
            other.close()
    finally:
        if sock is not None:
            sock.close()  # before the fix this frees the handler thread stuck in its send
        get_hub(slow_app).stop()
        with slow_app.app_context():
            db.engine.dispose()


def test_a_client_that_stops_reading_is_dropped_under_gevent(ctx):
    """The deployed configuration (gunicorn gevent workers): the gauge goes back down."""
    showtime_id = make_showtime().id
    db.session.remove()
    with gunicorn_process(DATABASE_URL, REDIS_URL, gevent=True, env={"WS_SEND_TIMEOUT_S": "1"}) as port:
        def gauge() -> float:
            scrape = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            return value(parse(scrape), "cineverse_websocket_connections")

        sock, answer = raw_handshake(port, _path(showtime_id), rcvbuf=4096)
        try:
            assert answer.startswith(b"HTTP/1.1 101")
            wait_for(lambda: gauge() == 1)
            assert _flood_until(showtime_id, lambda: gauge() == 0, timeout=30)
            other = connect(port, showtime_id)
            assert receive(other, timeout=10)["type"] == "snapshot"
            other.close()
        finally:
            sock.close()


# ---- sockets per IP ----

def test_sockets_per_ip_are_limited_across_processes(ctx):
    showtime_id = make_showtime().id
    db.session.remove()
    env = {"WS_MAX_PER_IP": "2"}
    with gunicorn_process(DATABASE_URL, REDIS_URL, gevent=True, env=env) as port_a, \
            gunicorn_process(DATABASE_URL, REDIS_URL, gevent=True, env=env) as port_b:
        first, second = connect(port_a, showtime_id), connect(port_b, showtime_id)
        receive(first, timeout=10), receive(second, timeout=10)
        status, body = _refused(port_a, _path(showtime_id))
        assert status == 429 and body["error"]["code"] == "too_many_sockets"
        first.close()

        def admitted() -> bool:
            try:
                third = connect(port_b, showtime_id)
            except websocket.WebSocketBadStatusException:
                return False
            third.close()
            return True

        wait_for(admitted, timeout=10)  # a closed socket frees its slot
        second.close()


def test_a_slot_left_by_a_dead_worker_lapses(ctx):
    """A worker that dies never releases its sockets' slots; they lapse after a few heartbeats."""
    from app.realtime import ipslots

    limited = make_test_app(WS_MAX_PER_IP=1, WS_HEARTBEAT_S=0.4)
    showtime_id = make_showtime().id
    try:
        with serve_in_thread(limited) as port:
            with limited.app_context():
                orphan = ipslots.acquire("127.0.0.1")  # a socket of a worker that is killed now
            assert orphan is not None
            status, body = _refused(port, _path(showtime_id))
            assert status == 429 and body["error"]["code"] == "too_many_sockets"
            time.sleep(ipslots.lease_s(limited) + 0.2)
            ws = connect(port, showtime_id)
            assert receive(ws)["type"] == "snapshot"
            ws.close()
            with limited.app_context():
                assert get_redis().zscore(orphan.key, orphan.member) is None  # pruned
    finally:
        get_hub(limited).stop()
        with limited.app_context():
            db.engine.dispose()
