"""Holds, the seat map and a purchase on a real Redis Cluster: every script runs in one slot (redis-py
refuses a script whose keys span slots), and the cross-slot steps keep the same rules."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Booking
from app.services.seats import expiry, holds
from app.services.seats.keys import hash_key, index_key, user_holds_key
from tests.factories import auth_headers, make_showtime, make_user
from tests.purchase_support import book


def _lock(client, headers, showtime_id, seats):
    return client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": seats}, headers=headers)


def test_the_app_really_is_on_the_cluster(capp):
    from redis.cluster import RedisCluster

    client = capp.extensions["redis"]
    assert isinstance(client, RedisCluster)
    slots = {client.keyslot(hash_key(1)), client.keyslot(hash_key(2)), client.keyslot(hash_key(3))}
    assert len(slots) == 3  # showtimes spread over the cluster's slots


def test_lock_unlock_extend_and_the_rules_on_the_cluster(capp, cclient):
    showtimes = [make_showtime() for _ in range(3)]  # on different slots
    alice, bob = make_user(), make_user()
    a, b = auth_headers(alice), auth_headers(bob)
    for showtime in showtimes:
        assert _lock(cclient, a, showtime.id, ["A1", "A2"]).status_code == 200
    taken = _lock(cclient, b, showtimes[0].id, ["A2", "A3"])
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "seat_taken"
    extended = cclient.post(f"/api/showtimes/{showtimes[0].id}/redis-extend-locks", json={"seat_ids": ["A1"]},
                            headers=a)
    assert extended.status_code == 200
    released = cclient.post(f"/api/showtimes/{showtimes[1].id}/redis-unlock-seats", json={"seat_ids": ["A1", "A2"]},
                            headers=a)
    assert released.status_code == 200 and released.get_json()["released"] == ["A1", "A2"]
    redis_client = capp.extensions["redis"]
    assert redis_client.zcard(user_holds_key(str(alice.id))) == 4  # two showtimes x two seats, across slots
    assert redis_client.zscore(index_key(), str(showtimes[0].id)) is not None
    seat_map = cclient.get(f"/api/showtimes/{showtimes[0].id}/seats", headers=a).get_json()
    marks = {s["id"]: (s["status"], s["mine"]) for s in seat_map["seats"]}
    assert marks["A1"] == ("locked", True) and marks["A2"] == ("locked", True) and marks["A3"] == ("available", False)


def test_the_cap_across_showtimes_holds_on_the_cluster(capp, cclient):
    capp.config["HOLD_MAX_SEATS_PER_USER"] = 4
    showtimes = [make_showtime() for _ in range(3)]
    user = make_user()
    headers = auth_headers(user)
    assert _lock(cclient, headers, showtimes[0].id, ["B1", "B2"]).status_code == 200
    assert _lock(cclient, headers, showtimes[1].id, ["B1", "B2"]).status_code == 200
    over = _lock(cclient, headers, showtimes[2].id, ["B1"])
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "hold_limit_exceeded"
    assert holds.held_by(showtimes[2].id, ["B1"]) == {}  # taken back at once
    assert _lock(cclient, headers, showtimes[0].id, ["B1", "B2"]).status_code == 200  # renewing is no new seat


def test_expiry_sweep_and_a_purchase_on_the_cluster(capp, cclient):
    showtime = make_showtime()
    user = make_user()
    holds.lock(showtime.id, str(user.id), ["C1"], ttl_ms=50)
    import time

    time.sleep(0.2)
    lapsed = expiry.sweep()
    assert [(item.showtime_id, item.released) for item in lapsed] == [(showtime.id, ["C1"])]
    assert capp.extensions["redis"].zscore(index_key(), str(showtime.id)) is None
    book(cclient, user, showtime.id, ["C2"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    seats = {s["id"]: s["status"] for s in cclient.get(f"/api/showtimes/{showtime.id}/seats").get_json()["seats"]}
    assert seats["C2"] == "booked" and seats["C1"] == "available"
    refused = _lock(cclient, auth_headers(make_user()), showtime.id, ["C2"])
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "seat_taken"


def test_seat_events_reach_a_socket_on_the_cluster(capp):
    from flask_jwt_extended import create_access_token

    from app.realtime.hub import get_hub
    from tests.realtime.helpers import connect, receive, serve_in_thread

    showtime = make_showtime()
    user = make_user()
    token = create_access_token(identity=str(user.id))
    with serve_in_thread(capp) as port:
        ws = connect(port, showtime.id, token)
        try:
            snapshot = receive(ws)
            assert snapshot["type"] == "snapshot" and snapshot["holds_available"] is True
            holds.lock(showtime.id, str(user.id), ["D1"])
            event = receive(ws)
            assert (event["type"], event["seat_ids"]) == ("seat_locked", ["D1"])
            assert event["version"] == (snapshot["version"] or 0) + 1
        finally:
            ws.close()
    get_hub(capp).stop()


def test_the_waiting_room_on_the_cluster(capp, cclient):
    from app.models import Role
    from app.services.seats.keys import room_index_key

    showtime = make_showtime()
    staff = make_user(role=Role.ADMIN)
    assert cclient.put(f"/api/admin/showtimes/{showtime.id}/waiting-room", headers=auth_headers(staff), json={
        "enabled": True, "active_limit": 1, "sales_open_at": None, "pass_ttl_s": 600}).status_code == 200
    first, second = auth_headers(make_user()), auth_headers(make_user())
    admitted = cclient.post(f"/api/showtimes/{showtime.id}/queue", headers=first)
    assert admitted.status_code == 200
    assert cclient.post(f"/api/showtimes/{showtime.id}/queue", headers=second).get_json()["position"] == 1
    assert capp.extensions["redis"].zscore(room_index_key(), str(showtime.id)) is not None  # the beat's index
    refused = _lock(cclient, second, showtime.id, ["A1"])
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "queue_pass_required"
    locked = cclient.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["A1"]},
                          headers={**first, "X-Queue-Pass": admitted.get_json()["pass"]})
    assert locked.status_code == 200
    assert cclient.delete(f"/api/showtimes/{showtime.id}/queue", headers=first).status_code == 204
    assert cclient.get(f"/api/showtimes/{showtime.id}/queue", headers=second).status_code == 200
