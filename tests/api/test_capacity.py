"""Connection pools queue instead of failing (issue 12): a burst of buyers is answered 200 or 409, never
503 because a pool was momentarily empty; a pool that stays empty for its whole timeout answers 503
`server_busy` with Retry-After."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import Counter

import pytest
import redis
from flask_jwt_extended import create_access_token

from app.errors import PoolExhausted
from app.extensions import WaitingConnectionPool, db
from app.models import User
from app.services.catalogue import showtime_seats
from tests.conftest import DATABASE_URL, REDIS_URL, make_test_app
from tests.factories import auth_headers, make_showtime, make_user
from tests.processes import gunicorn


def test_waiting_pool_hands_a_released_connection_to_the_waiter():
    pool = WaitingConnectionPool.from_url(REDIS_URL, max_connections=1, timeout=10)
    held = pool.get_connection()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(pool.get_connection()))
    waiter.start()
    time.sleep(0.2)
    assert got == []  # waiting, not refused
    pool.release(held)
    waiter.join(5)
    assert got == [held]
    pool.disconnect()


def test_waiting_pool_gives_up_after_its_timeout_as_pool_exhausted():
    pool = WaitingConnectionPool.from_url(REDIS_URL, max_connections=1, timeout=1)
    held = pool.get_connection()
    with pytest.raises(PoolExhausted):
        pool.get_connection()
    assert isinstance(PoolExhausted(), redis.ConnectionError)
    pool.release(held)
    pool.disconnect()


@pytest.fixture()
def small_pools_app(app):
    """An app whose Redis pool holds 2 connections and whose database pool holds 1, each waiting 1 s."""
    application = make_test_app(REDIS_MAX_CONNECTIONS=2, REDIS_POOL_TIMEOUT_S=1, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_size": 1, "max_overflow": 0, "pool_timeout": 1})
    yield application
    with application.app_context():
        db.engine.dispose()
    application.extensions["redis"].connection_pool.disconnect()


def test_an_exhausted_redis_pool_answers_503_server_busy_not_redis_unavailable(app, small_pools_app):
    with app.app_context():
        showtime_id, user = make_showtime().id, make_user()
        headers = auth_headers(user)
    pool = small_pools_app.extensions["redis"].connection_pool
    taken = [pool.get_connection(), pool.get_connection()]
    client = small_pools_app.test_client()
    response = client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": ["A1"]},
                           headers=headers)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "server_busy"
    assert response.headers["Retry-After"] == "1"
    # the seat map too: a full server sheds it, it does not fall back to a database read as if Redis were down
    for path_headers in ({}, headers):
        seat_map = client.get(f"/api/showtimes/{showtime_id}/seats", headers=path_headers)
        assert seat_map.status_code == 503 and seat_map.get_json()["error"]["code"] == "server_busy"
    for connection in taken:
        pool.release(connection)
    response = client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": ["A1"]},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    assert client.get(f"/api/showtimes/{showtime_id}/seats").get_json()["holds_available"] is True


def test_an_exhausted_database_pool_answers_503_server_busy(app, small_pools_app):
    with small_pools_app.app_context():
        held = db.engine.connect()  # the pool's only connection
        try:
            response = small_pools_app.test_client().get("/api/movies")
        finally:
            held.close()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "server_busy"
    assert response.headers["Retry-After"] == "1"
    assert small_pools_app.test_client().get("/api/movies").status_code == 200


BURST = 300


def test_a_burst_of_300_buyers_gets_only_200_and_409(app, ctx):
    """300 signed-in users each send one lock at the same instant to the deployed configuration (gunicorn,
    2 gevent workers, real PostgreSQL and Redis). The 216 seats each go to one of them; the other 84 are
    told the seat is taken. Before the pools waited, most of the burst got 503 redis_unavailable."""
    showtime = make_showtime()
    labels = [seat.label for seat in showtime_seats(showtime.id)]
    users = [User(email=f"burst{n}@example.com", name=f"Burst {n}", password_hash="x") for n in range(BURST)]
    db.session.add_all(users)
    db.session.commit()
    tokens = [create_access_token(identity=str(u.id)) for u in users]
    showtime_id = showtime.id
    db.session.remove()
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_EAGER": "false",
           "LOG_LEVEL": "WARNING"}
    with gunicorn(env, "-c", "app/gunicorn_conf.py", "--workers", "2", "--timeout", "60") as port:
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(BURST)]
        for connection in connections:
            connection.connect()
        start = threading.Barrier(BURST)
        answers: list[tuple[int, str | None]] = [(0, None)] * BURST

        def buyer(i: int) -> None:
            body = json.dumps({"seat_ids": [labels[i % len(labels)]]})
            start.wait()
            connections[i].request("POST", f"/api/showtimes/{showtime_id}/redis-lock-seats", body=body,
                                   headers={"Authorization": f"Bearer {tokens[i]}",
                                            "Content-Type": "application/json"})
            response = connections[i].getresponse()
            payload = json.loads(response.read() or b"{}")
            answers[i] = (response.status, (payload.get("error") or {}).get("code"))

        threads = [threading.Thread(target=buyer, args=(i,)) for i in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for connection in connections:
            connection.close()
    statuses = Counter(answers)
    assert statuses == {(200, None): len(labels), (409, "seat_taken"): BURST - len(labels)}, statuses
