"""Two app servers (gunicorn, the deployed gevent configuration) on the same Redis Cluster and PostgreSQL:
a seat socket on one sees a lock made through the other, and a purchase through either is seen by both."""

from __future__ import annotations

import requests
from flask_jwt_extended import create_access_token

from app.extensions import db
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.factories import make_showtime, make_user
from tests.realtime.helpers import connect, gunicorn_process, receive


def test_a_lock_through_one_host_reaches_a_socket_of_the_other(capp, cluster):
    showtime_id = make_showtime().id
    user_id = str(make_user().id)
    token = create_access_token(identity=user_id)
    db.session.remove()
    env = {"REDIS_CLUSTER_NODES": cluster.nodes_setting}
    with gunicorn_process(DATABASE_URL, REDIS_URL, gevent=True, env=env) as port_a, \
            gunicorn_process(DATABASE_URL, REDIS_URL, gevent=True, env=env) as port_b:
        ws = connect(port_a, showtime_id, token=token)
        try:
            snapshot = receive(ws, timeout=10)
            assert snapshot["type"] == "snapshot" and snapshot["holds_available"] is True
            answer = requests.post(f"http://127.0.0.1:{port_b}/api/showtimes/{showtime_id}/redis-lock-seats",
                                   json={"seat_ids": ["J1", "J2"]}, headers={"Authorization": f"Bearer {token}"},
                                   timeout=10)
            assert answer.status_code == 200, answer.text
            event = receive(ws, timeout=5)
            assert event["type"] == "seat_locked" and event["seat_ids"] == ["J1", "J2"]
            seat_map = requests.get(f"http://127.0.0.1:{port_a}/api/showtimes/{showtime_id}/seats",
                                    headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
            assert {s["id"]: s["mine"] for s in seat_map["seats"]}["J1"] is True
            taken = requests.post(f"http://127.0.0.1:{port_a}/api/showtimes/{showtime_id}/redis-lock-seats",
                                  json={"seat_ids": ["J2"]}, timeout=10,
                                  headers={"Authorization": f"Bearer {create_access_token(identity='999')}"})
            assert taken.status_code in (401, 409)  # a stranger: refused either way, never granted
        finally:
            ws.close()
