"""The waiting room's socket against a real server, PostgreSQL and Redis: the position while waiting,
`admitted` with the pass the moment a place frees, and the refusals."""

from __future__ import annotations

import json

import pytest
import websocket
from flask_jwt_extended import create_access_token

from app.models import Role
from app.realtime.hub import get_hub
from app.services.waiting_room import passes, room
from tests.factories import auth_headers, make_showtime, make_user
from tests.realtime.helpers import SUBPROTOCOL, serve_in_thread


@pytest.fixture()
def room_live(app, ctx, client):
    showtime = make_showtime()
    staff = make_user(role=Role.ADMIN)
    response = client.put(f"/api/admin/showtimes/{showtime.id}/waiting-room", headers=auth_headers(staff),
                          json={"enabled": True, "active_limit": 1, "sales_open_at": None, "pass_ttl_s": 600})
    assert response.status_code == 200
    with serve_in_thread(app) as port:
        yield {"port": port, "showtime": showtime.id}
    get_hub(app).stop()


def _connect(port, showtime_id, token=None):
    url = f"ws://127.0.0.1:{port}/api/showtimes/{showtime_id}/queue/ws"
    subprotocols = [SUBPROTOCOL, f"bearer.{token}"] if token else None
    return websocket.create_connection(url, timeout=10, subprotocols=subprotocols)


def _user_token():
    user = make_user()
    return str(user.id), create_access_token(identity=str(user.id))


def test_a_waiting_buyer_sees_the_position_move_and_is_admitted_when_a_place_frees(app, client, room_live):
    sid = room_live["showtime"]
    users = [_user_token() for _ in range(3)]
    headers = [{"Authorization": f"Bearer {token}"} for _uid, token in users]
    assert client.post(f"/api/showtimes/{sid}/queue", headers=headers[0]).status_code == 200
    assert client.post(f"/api/showtimes/{sid}/queue", headers=headers[1]).get_json()["position"] == 1
    assert client.post(f"/api/showtimes/{sid}/queue", headers=headers[2]).get_json()["position"] == 2

    third = _connect(room_live["port"], sid, users[2][1])
    first_message = json.loads(third.recv())
    assert first_message["type"] == "queue_position" and first_message["position"] == 2
    assert "ticket" not in first_message

    second = _connect(room_live["port"], sid, users[1][1])
    assert json.loads(second.recv())["position"] == 1
    room.leave(sid, users[0][0])  # the admitted buyer gives the place back: the next is admitted at once
    admitted = json.loads(second.recv())
    assert admitted["type"] == "admitted"
    assert passes.pass_expiry(admitted["pass"], sid, users[1][0]) and admitted["pass_expires_at"]
    opcode, data = second.recv_data(control_frame=True)  # closed after the admission, normally
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1000
    moved = json.loads(third.recv())  # within about a second
    assert moved == {"type": "queue_position", "state": "waiting", "position": 1,
                     "estimated_wait_s": moved["estimated_wait_s"]}
    third.close()


def test_the_queue_socket_refuses_strangers(client, room_live):
    sid = room_live["port"], room_live["showtime"]
    port, showtime_id = sid
    # anonymous, not in the queue, a bad token: an error message and a 1008 close
    _uid, token = _user_token()
    for offered, code in ((None, "unauthorized"), (token, "not_in_queue"), ("x.y.z", None)):
        ws = _connect(port, showtime_id, offered)
        message = json.loads(ws.recv())
        assert message["type"] == "error", message
        if code:
            assert message["error"]["code"] == code, message
        ws.close()
    # a room that is off
    other = make_showtime()
    ws = _connect(port, other.id, token)
    assert json.loads(ws.recv())["error"]["code"] == "waiting_room_off"
    ws.close()


def test_a_suspended_buyer_cannot_wait_on_the_socket(client, room_live):
    port, showtime_id = room_live["port"], room_live["showtime"]
    uid, token = _user_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/showtimes/{showtime_id}/queue", headers=headers).status_code == 200
    staff = make_user(role=Role.ADMIN)
    assert client.put(f"/api/admin/users/{uid}/active", json={"active": False},
                      headers=auth_headers(staff)).status_code == 200
    ws = _connect(port, showtime_id, token)
    message = json.loads(ws.recv())
    assert message["type"] == "error" and message["error"]["code"] in ("account_inactive", "token_revoked")
    ws.close()


def test_queue_socket_connects_count_against_the_queue_limits(app, client, room_live):
    port, showtime_id = room_live["port"], room_live["showtime"]
    _uid, token = _user_token()
    assert client.post(f"/api/showtimes/{showtime_id}/queue",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app.config["RATE_LIMIT_QUEUE_PER_ACCOUNT"] = "2/minute"
    try:
        statuses = []
        for _ in range(4):
            try:
                ws = _connect(port, showtime_id, token)
                statuses.append(101)
                ws.close()
            except websocket.WebSocketBadStatusException as exc:
                statuses.append(exc.status_code)
    finally:
        app.config["RATE_LIMIT_QUEUE_PER_ACCOUNT"] = "30/minute;300/hour"
    assert statuses == [101, 101, 429, 429]


def test_one_watcher_thread_per_showtime_however_often_sockets_come_and_go(app):
    from app.realtime.queue_ws import QueueWatch, Waiter

    watch = QueueWatch(app)
    started = []
    real = watch._watch
    watch._watch = lambda showtime_id: (started.append(showtime_id), real(showtime_id))  # type: ignore[method-assign]
    last = None
    for n in range(30):  # faster than a watcher's first wake: the same watcher serves them all
        last = Waiter(424242, str(n + 1))
        watch.add(last)
        if n < 29:
            watch.remove(last)
    assert started == [424242]
    watch.remove(last)
