"""The seat WebSocket against real servers, PostgreSQL and Redis: snapshot, events, heartbeats, resync."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
import websocket
from flask_jwt_extended import create_access_token

from app.extensions import db
from app.realtime.hub import get_hub
from app.services.seats import holds
from app.services.tasks import EXPIRE_HOLDS
from tests.conftest import DATABASE_URL, REDIS_URL, make_test_app, single_redis_app
from tests.factories import make_showtime, make_user
from tests.realtime.helpers import (
    connect,
    gunicorn_process,
    receive,
    receive_until,
    serve_in_thread,
    wait_for,
)
from tests.tcp_proxy import TcpProxy


@pytest.fixture()
def live(app, ctx):
    """The session app served on a loopback port in this process, and a showtime with a user."""
    showtime = make_showtime()
    user = make_user()
    with serve_in_thread(app) as port:
        yield {"port": port, "showtime": showtime.id, "user": str(user.id),
               "token": create_access_token(identity=str(user.id))}
    get_hub(app).stop()


def test_snapshot_first_then_versioned_events(app, live):
    holds.lock(live["showtime"], live["user"], ["A1"])
    ws = connect(live["port"], live["showtime"])
    snapshot = receive(ws)
    assert snapshot["type"] == "snapshot" and snapshot["holds_available"] is True
    assert snapshot["version"] == holds.snapshot(live["showtime"])[0] >= 1
    seats = {s["id"]: s for s in snapshot["seats"]}
    assert len(seats) == 216 and seats["A1"]["status"] == "locked" and seats["A1"]["mine"] is False
    assert all("holder" not in key for s in snapshot["seats"] for key in s)

    holds.lock(live["showtime"], "someone-else", ["B1", "B2"])
    holds.release(live["showtime"], live["user"], ["A1"])
    booked = holds.publish(live["showtime"], "seat_booked", ["B1"])
    events = [receive(ws) for _ in range(3)]
    assert [(e["type"], e["seat_ids"]) for e in events] == [
        ("seat_locked", ["B1", "B2"]), ("seat_released", ["A1"]), ("seat_booked", ["B1"])]
    versions = [snapshot["version"]] + [e["version"] for e in events]
    assert versions == sorted(set(versions)) and versions[-1] == booked
    ws.close()


def test_token_shows_the_viewers_own_holds(live):
    holds.lock(live["showtime"], live["user"], ["C3"])
    ws = connect(live["port"], live["showtime"], token=live["token"])
    seats = {s["id"]: s for s in receive(ws)["seats"]}
    assert seats["C3"]["mine"] is True and seats["C4"]["mine"] is False
    ws.close()


def test_bad_token_and_unknown_showtime_are_refused(live):
    ws = connect(live["port"], live["showtime"], token="not-a-jwt")
    assert receive(ws)["error"]["code"] == "invalid_token"
    ws.close()
    ws = connect(live["port"], live["showtime"] + 999)
    assert receive(ws)["error"]["code"] == "showtime_not_found"
    ws.close()


def test_expiry_is_broadcast(app, live):
    ws = connect(live["port"], live["showtime"])
    receive(ws)
    holds.lock(live["showtime"], live["user"], ["D1", "D2"], ttl_ms=200)
    assert receive(ws)["type"] == "seat_locked"
    time.sleep(0.3)
    assert app.extensions["celery"].tasks[EXPIRE_HOLDS].apply().get()["released"] == 2
    event = receive(ws)
    assert event["type"] == "seat_released" and sorted(event["seat_ids"]) == ["D1", "D2"]
    ws.close()


def test_clients_that_go_away_are_removed(app, live):
    hub = get_hub(app)
    sockets = [connect(live["port"], live["showtime"]) for _ in range(3)]
    for ws in sockets:
        receive(ws)
    wait_for(lambda: len(hub.clients(live["showtime"])) == 3)
    sockets[0].close()
    sockets[1].sock.shutdown(socket.SHUT_RDWR)  # vanishes without a close frame
    sockets[1].sock.close()
    wait_for(lambda: len(hub.clients(live["showtime"])) == 1, timeout=5)
    holds.lock(live["showtime"], live["user"], ["E1"])
    assert receive(sockets[2])["seat_ids"] == ["E1"]
    sockets[2].close()


def _raw_handshake(port: int, showtime_id: int) -> socket.socket:
    """A WebSocket client that never answers pings (as a frozen browser tab or a dead peer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/showtimes/{showtime_id}/seats/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    assert b"101" in sock.recv(1024).split(b"\r\n")[0]
    return sock


def test_heartbeat_pings_and_silent_clients_are_dropped(ctx):
    heartbeat_app = make_test_app(WS_HEARTBEAT_S=0.4)
    showtime = make_showtime()
    try:
        with serve_in_thread(heartbeat_app) as port:
            ws = connect(port, showtime.id)
            receive(ws)
            ws.settimeout(15)
            pings: list[float] = []
            stop = threading.Event()

            def answer_pings() -> None:  # websocket-client answers a ping only while it reads
                while not stop.is_set():
                    try:
                        opcode, _frame = ws.recv_data_frame(control_frame=True)
                    except (websocket.WebSocketException, OSError):
                        return
                    if opcode == websocket.ABNF.OPCODE_PING:
                        pings.append(time.monotonic())

            reader = threading.Thread(target=answer_pings, daemon=True)
            reader.start()
            wait_for(lambda: pings, timeout=15)  # the server pings an idle client
            silent = _raw_handshake(port, showtime.id)
            hub = get_hub(heartbeat_app)
            wait_for(lambda: len(hub.clients(showtime.id)) == 2, timeout=15)
            wait_for(lambda: len(hub.clients(showtime.id)) == 1, timeout=15)  # the silent one is closed
            seen = len(pings)
            wait_for(lambda: len(pings) > seen + 1, timeout=15)  # the answering client stays, still pinged
            assert len(hub.clients(showtime.id)) == 1 and reader.is_alive()
            stop.set()
            ws.close()
            silent.close()
            reader.join(5)
    finally:
        get_hub(heartbeat_app).stop()
        with heartbeat_app.app_context():
            db.engine.dispose()


def test_redis_down_snapshot_from_database(ctx):
    down = single_redis_app(REDIS_URL="redis://127.0.0.1:1/0")
    showtime = make_showtime()
    try:
        with serve_in_thread(down) as port:
            ws = connect(port, showtime.id)
            snapshot = receive(ws, timeout=10)
            assert snapshot["type"] == "snapshot" and snapshot["holds_available"] is False
            assert snapshot["version"] is None and len(snapshot["seats"]) == 216
            assert get_hub(down).running and not get_hub(down).subscribed.is_set()
            ws.close()
    finally:
        get_hub(down).stop()
        with down.app_context():
            db.engine.dispose()


def test_subscriber_reconnects_and_resyncs_clients(app, ctx):
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379).start()
    flaky = single_redis_app(REDIS_URL=f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}")
    direct = single_redis_app()  # the same Redis, not through the proxy
    showtime = make_showtime()

    def lock(label: str) -> None:
        with direct.app_context():
            holds.lock(showtime.id, "7", [label])

    try:
        with serve_in_thread(flaky) as port:
            ws = connect(port, showtime.id)
            assert receive(ws)["holds_available"] is True
            proxy.stop()  # the server's Redis goes away; a lock made meanwhile is missed by its subscriber
            lock("F1")
            proxy.start()
            resync = receive_until(ws, lambda m: m["type"] == "snapshot", timeout=15)[-1]
            seats = {s["id"]: s for s in resync["seats"]}
            assert seats["F1"]["status"] == "locked" and resync["holds_available"] is True
            lock("F2")
            event = receive_until(ws, lambda m: m["type"] == "seat_locked", timeout=5)[-1]
            assert event["seat_ids"] == ["F2"] and event["version"] > resync["version"]
            ws.close()
    finally:
        proxy.stop()
        get_hub(flaky).stop()
        with flaky.app_context():
            db.engine.dispose()
        with direct.app_context():
            db.engine.dispose()
            direct.extensions["redis"].flushdb()  # on a cluster run the session's flush is the cluster's


def test_a_lock_made_through_one_process_reaches_a_client_of_another(ctx):
    """Two gunicorn processes (wsgi:app) on the test database and Redis: a client of the first sees a
    lock made through the second's HTTP API."""
    showtime_id = make_showtime().id
    token = create_access_token(identity=str(make_user().id))
    db.session.remove()
    with gunicorn_process(DATABASE_URL, REDIS_URL) as port_a, gunicorn_process(DATABASE_URL, REDIS_URL) as port_b:
        ws = connect(port_a, showtime_id, token=token)
        snapshot = receive(ws, timeout=10)
        assert snapshot["type"] == "snapshot"
        response = requests.post(f"http://127.0.0.1:{port_b}/api/showtimes/{showtime_id}/redis-lock-seats",
                                 json={"seat_ids": ["G1", "G2"]}, headers={"Authorization": f"Bearer {token}"},
                                 timeout=10)
        assert response.status_code == 200, response.text
        event = receive(ws, timeout=5)
        assert event["type"] == "seat_locked" and event["seat_ids"] == ["G1", "G2"]
        assert event["version"] > (snapshot["version"] or 0)
        seat_map = requests.get(f"http://127.0.0.1:{port_a}/api/showtimes/{showtime_id}/seats",
                                headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert {s["id"]: s["mine"] for s in seat_map["seats"]}["G1"] is True
        ws.close()
    assert json.loads(json.dumps(event))["showtime_id"] == showtime_id
