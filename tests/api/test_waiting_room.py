"""The waiting room (issue 13) on real Redis and PostgreSQL: staff settings, the queue, admissions, and
the pass that lock, extend and create-order demand while the room is on."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Role
from app.services.seats.keys import room_index_key, room_key
from app.services.waiting_room import passes, room
from tests.factories import auth_headers, make_showtime, make_user
from tests.purchase_support import dev_pay, verify


def _settings(**overrides):
    body = {"enabled": True, "active_limit": 1, "sales_open_at": None, "pass_ttl_s": 600}
    body.update(overrides)
    return body


def _setup(client, showtime_id, **overrides):
    staff = make_user(role=Role.ADMIN)
    response = client.put(f"/api/admin/showtimes/{showtime_id}/waiting-room", json=_settings(**overrides),
                          headers=auth_headers(staff))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _join(client, user, showtime_id):
    return client.post(f"/api/showtimes/{showtime_id}/queue", headers=auth_headers(user))


def _lock(client, user, showtime_id, seats, queue_pass=None):
    headers = auth_headers(user)
    if queue_pass is not None:
        headers["X-Queue-Pass"] = queue_pass
    return client.post(f"/api/showtimes/{showtime_id}/redis-lock-seats", json={"seat_ids": seats}, headers=headers)


def _code(response):
    return response.get_json()["error"]["code"]


def test_staff_set_up_a_waiting_room_audited_and_only_staff(client, ctx):
    showtime = make_showtime()
    path = f"/api/admin/showtimes/{showtime.id}/waiting-room"
    staff, user = make_user(role=Role.ADMIN), make_user()
    assert client.get(f"/api/showtimes/{showtime.id}").get_json()["on_sale"] == {"waiting_room": False,
                                                                               "sales_open_at": None}
    fresh = client.get(path, headers=auth_headers(staff)).get_json()
    assert fresh["enabled"] is False and fresh["active_limit"] == 200 and fresh["pass_ttl_s"] == 600
    assert client.get(path, headers=auth_headers(user)).status_code == 403
    assert client.put(path, json=_settings(), headers=auth_headers(user)).status_code == 403
    assert client.put(path, json=_settings()).status_code == 401
    for bad in (_settings(active_limit=0), _settings(pass_ttl_s=5), _settings(enabled="yes"), {"enabled": True},
                {**_settings(), "extra": 1}, _settings(sales_open_at="tomorrow")):
        response = client.put(path, json=bad, headers=auth_headers(staff))
        assert response.status_code == 422, (bad, response.get_json())
    late = (showtime.starts_at + timedelta(minutes=1)).isoformat()
    response = client.put(path, json=_settings(sales_open_at=late), headers=auth_headers(staff))
    assert response.status_code == 422 and _code(response) == "sales_open_after_start"
    assert client.put("/api/admin/showtimes/999999/waiting-room", json=_settings(),
                      headers=auth_headers(staff)).status_code == 404
    opens = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    body = client.put(path, json=_settings(active_limit=50, sales_open_at=opens.isoformat()),
                      headers=auth_headers(staff)).get_json()
    assert body["enabled"] is True and body["active_limit"] == 50 and body["waiting"] == 0
    assert datetime.fromisoformat(body["sales_open_at"]) == opens
    assert client.get(path, headers=auth_headers(staff)).get_json()["active_limit"] == 50
    public = client.get(f"/api/showtimes/{showtime.id}").get_json()["on_sale"]  # what the buyer's page reads
    assert public["waiting_room"] is True and datetime.fromisoformat(public["sales_open_at"]) == opens
    trail = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "waiting_room.update")).all()
    assert [row.entity_id for row in trail] == [str(showtime.id)] and trail[0].changes["active_limit"] == [None, 50]
    db.session.commit()


def test_with_one_place_the_second_buyer_waits_and_is_admitted_when_the_first_buys(sclient, sctx):
    client = sclient
    showtime = make_showtime()
    first, second, third = make_user(), make_user(), make_user()
    assert _lock(client, first, showtime.id, ["A1"]).status_code == 200  # no room yet: the sale is open
    _setup(client, showtime.id)

    admitted = _join(client, first, showtime.id)
    assert admitted.status_code == 200 and admitted.get_json()["state"] == "admitted"
    first_pass = admitted.get_json()["pass"]
    waiting = _join(client, second, showtime.id)
    assert waiting.status_code == 202
    assert waiting.get_json()["state"] == "waiting" and waiting.get_json()["position"] == 1
    assert waiting.get_json()["estimated_wait_s"] > 0 and waiting.get_json()["ticket"].startswith("qt1.")
    assert _join(client, third, showtime.id).get_json()["position"] == 2

    # without a pass, with another's pass, with a forged one: refused, nothing held
    for queue_pass, reason in ((None, "missing"), (first_pass, "invalid"), (first_pass[:-2] + "xx", "invalid")):
        response = _lock(client, second, showtime.id, ["B1"], queue_pass)
        assert response.status_code == 403 and _code(response) == "queue_pass_required"
        assert response.get_json()["error"]["details"]["reason"] == reason
    assert _lock(client, first, showtime.id, ["B1"]).status_code == 403  # the admitted one needs it too

    assert _lock(client, first, showtime.id, ["B1", "B2"], first_pass).status_code == 200
    headers = {**auth_headers(first), "X-Queue-Pass": first_pass}
    extended = client.post(f"/api/showtimes/{showtime.id}/redis-extend-locks", json={"seat_ids": ["B1"]},
                           headers=auth_headers(first))
    assert extended.status_code == 403 and _code(extended) == "queue_pass_required"
    assert client.post(f"/api/showtimes/{showtime.id}/redis-extend-locks", json={"seat_ids": ["B1"]},
                       headers=headers).status_code == 200
    order_body = {"showtime_id": showtime.id, "seat_ids": ["B1", "B2"]}
    refused = client.post("/api/payments/create-order", json=order_body, headers=auth_headers(first))
    assert refused.status_code == 403 and _code(refused) == "queue_pass_required"
    order = client.post("/api/payments/create-order", json=order_body, headers=headers)
    assert order.status_code == 201, order.get_json()
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second)).status_code == 202

    paid = dev_pay(client, first, order.get_json()["gateway_order_id"])
    booked = verify(client, first, order.get_json()["gateway_order_id"], paid["razorpay_payment_id"],
                    paid["razorpay_signature"])  # no pass needed: a buyer who paid must book
    assert booked.status_code == 200 and booked.get_json()["status"] == "booked"

    now_in = client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second))
    assert now_in.status_code == 200 and now_in.get_json()["state"] == "admitted"
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(third)).get_json()["position"] == 1
    assert _lock(client, second, showtime.id, ["C1"], now_in.get_json()["pass"]).status_code == 200
    # the buyer's pass ended with the purchase
    used = _lock(client, first, showtime.id, ["C2"], first_pass)
    assert used.status_code == 403 and used.get_json()["error"]["details"]["reason"] == "ended"
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(first)).status_code == 404


def test_leaving_admits_the_next_and_rejoining_keeps_the_place(client, ctx):
    showtime = make_showtime()
    users = [make_user() for _ in range(4)]
    _setup(client, showtime.id)
    assert _join(client, users[0], showtime.id).status_code == 200
    places = [_join(client, u, showtime.id).get_json() for u in users[1:]]
    assert [p["position"] for p in places] == [1, 2, 3]
    again = _join(client, users[2], showtime.id).get_json()
    assert again["position"] == 2 and again["ticket"] == places[1]["ticket"]
    # a waiting buyer leaving moves those behind
    assert client.delete(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[1])).status_code == 204
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[2])).get_json()["position"] == 1
    # the admitted one leaving admits the next at once
    assert client.delete(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[0])).status_code == 204
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[2])).status_code == 200
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[3])).get_json()["position"] == 1
    assert client.delete(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[0])).status_code == 204


def test_fifty_concurrent_joiners_get_positions_one_to_fifty(app, client, ctx):
    showtime = make_showtime()
    _setup(client, showtime.id)
    assert _join(client, make_user(), showtime.id).status_code == 200  # the one place is taken
    users = [make_user() for _ in range(50)]
    headers = [auth_headers(u) for u in users]
    start = threading.Barrier(50)
    path = f"/api/showtimes/{showtime.id}/queue"

    def join(h):
        start.wait()
        return app.test_client().post(path, headers=h)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(join, headers))
    assert {r.status_code for r in answers} == {202}
    assert sorted(r.get_json()["position"] for r in answers) == list(range(1, 51))


def test_the_pre_queue_is_shuffled_at_the_opening_and_later_arrivals_come_in_order(client, ctx):
    showtime = make_showtime()
    opens = datetime.now(timezone.utc) + timedelta(hours=1)
    _setup(client, showtime.id, sales_open_at=opens.isoformat())
    early = [make_user() for _ in range(20)]
    for user in early:
        answer = _join(client, user, showtime.id)
        assert answer.status_code == 202 and answer.get_json()["state"] == "pre_queue"
        in_ms = opens.replace(microsecond=opens.microsecond // 1000 * 1000)
        assert datetime.fromisoformat(answer.get_json()["opens_at"]) == in_ms
    refused = _lock(client, early[0], showtime.id, ["A1"])
    assert refused.status_code == 403 and _code(refused) == "sales_not_open"
    assert refused.get_json()["error"]["details"]["opens_at"]

    _setup(client, showtime.id, sales_open_at=(datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat())
    late = [make_user() for _ in range(5)]
    assert [_join(client, u, showtime.id).get_json()["position"] for u in late] == [20, 21, 22, 23, 24]
    order = []
    everyone = early + late
    for _ in range(len(everyone)):
        admitted = [u for u in everyone if u not in order and
                    client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(u)).status_code == 200]
        assert len(admitted) == 1  # one place
        order.append(admitted[0])
        left = client.delete(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(admitted[0]))
        assert left.status_code == 204
    assert set(order[:20]) == set(early) and order[20:] == late
    assert order[:20] != early  # shuffled (the same order by chance: 1 in 20!)


def test_an_expired_pass_is_refused_and_its_place_goes_to_the_next(app, client, ctx, redis_client):
    showtime = make_showtime()
    _setup(client, showtime.id)
    first, second = make_user(), make_user()
    good = _join(client, first, showtime.id).get_json()["pass"]
    assert _join(client, second, showtime.id).status_code == 202
    past = int(time.time() * 1000) - 1000
    assert room.due_showtimes() == []  # the first pass expires in ten minutes
    # ten minutes pass: the pass's expiry, and the room's next due run with it, are now behind us
    redis_client.zadd(room_key(showtime.id, "active"), {str(first.id): past})
    redis_client.zadd(room_index_key(), {str(showtime.id): past})
    expired = passes.sign_pass(showtime.id, str(first.id), past)
    for queue_pass in (expired, good):
        response = _lock(client, first, showtime.id, ["A1"], queue_pass)
        assert response.status_code == 403 and _code(response) == "queue_pass_required"
    assert room.due_showtimes() == [showtime.id]
    assert room.tick(showtime.id) == 1  # what the beat task does for due rooms
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second)).status_code == 200
    # a pass of another showtime is no pass here
    other = make_showtime()
    _setup(client, other.id)
    other_pass = _join(client, first, other.id).get_json()["pass"]
    assert _lock(client, first, showtime.id, ["A1"], other_pass).status_code == 403
    assert _lock(client, first, other.id, ["A1"], other_pass).status_code == 200


def test_the_gate_holds_after_a_redis_flush(client, ctx, redis_client):
    """The settings come back from the database with the seat facts: a flush never opens the gate."""
    showtime = make_showtime()
    _setup(client, showtime.id)
    user = make_user()
    redis_client.flushdb()
    response = _lock(client, user, showtime.id, ["A1"])
    assert response.status_code == 403 and _code(response) == "queue_pass_required"
    queue_pass = _join(client, user, showtime.id).get_json()["pass"]
    assert _lock(client, user, showtime.id, ["A1"], queue_pass).status_code == 200


def test_queue_routes_need_a_signed_in_user_and_a_room(client, ctx):
    showtime = make_showtime()
    user = make_user()
    assert client.post(f"/api/showtimes/{showtime.id}/queue").status_code == 401
    off = _join(client, user, showtime.id)
    assert off.status_code == 409 and _code(off) == "waiting_room_off"
    assert client.post("/api/showtimes/999999/queue", headers=auth_headers(user)).status_code == 404
    _setup(client, showtime.id)
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(user)).status_code == 404


def test_the_queue_is_rate_limited_per_account(app, client, ctx):
    showtime = make_showtime()
    _setup(client, showtime.id, active_limit=100)
    user = make_user()
    app.config["RATE_LIMIT_QUEUE_PER_ACCOUNT"] = "3/minute"
    try:
        statuses = [_join(client, user, showtime.id).status_code for _ in range(5)]
    finally:
        app.config["RATE_LIMIT_QUEUE_PER_ACCOUNT"] = "30/minute;300/hour"
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]


def test_sales_do_not_make_the_queue_reread_the_database_but_a_settings_change_does(client, ctx, monkeypatch):
    """The room keeps its own copy of its settings, announced by its own counter: a sale (which outdates
    the seat facts) must not send every join and look to the database; a settings change must."""
    from app.services.seats.facts import invalidate

    showtime = make_showtime()
    _setup(client, showtime.id)
    users = [make_user() for _ in range(4)]
    assert _join(client, users[0], showtime.id).status_code == 200
    reads = []
    real = room.fill_settings
    monkeypatch.setattr(room, "fill_settings", lambda sid, *a, **k: reads.append(sid) or real(sid, *a, **k))
    invalidate({showtime.id})  # what every booking's commit announces
    assert _join(client, users[1], showtime.id).get_json()["position"] == 1
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[1])).status_code == 202
    assert reads == []
    _setup(client, showtime.id, active_limit=2)  # a settings change: read once, and it admits the next at once
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(users[1])).status_code == 200
    assert reads == [showtime.id]


def test_a_scheduled_opening_without_a_room_refuses_holds_until_then(client, ctx):
    showtime = make_showtime()
    user = make_user()
    opens = datetime.now(timezone.utc) + timedelta(hours=2)
    _setup(client, showtime.id, enabled=False, sales_open_at=opens.isoformat())
    refused = _lock(client, user, showtime.id, ["A1"])
    assert refused.status_code == 403 and _code(refused) == "sales_not_open"
    assert datetime.fromisoformat(refused.get_json()["error"]["details"]["opens_at"]) <= opens
    order = client.post("/api/payments/create-order", json={"showtime_id": showtime.id, "seat_ids": ["A1"]},
                        headers=auth_headers(user))
    assert order.status_code == 403 and _code(order) == "sales_not_open"
    assert _code(_join(client, user, showtime.id)) == "waiting_room_off"
    _setup(client, showtime.id, enabled=False, sales_open_at=None)  # opened early by staff: at once
    assert _lock(client, user, showtime.id, ["A1"]).status_code == 200


def test_leaving_and_joining_again_before_the_opening_never_draws_a_new_place(client, ctx, redis_client):
    """A pre-queue place is the account's for the showtime: re-rolling it by leaving and joining is useless,
    and the ticket does not tell the place."""
    showtime = make_showtime()
    _setup(client, showtime.id, sales_open_at=(datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    user = make_user()
    first = _join(client, user, showtime.id).get_json()
    place = redis_client.zscore(room_key(showtime.id, "queue"), str(user.id))
    assert first["state"] == "pre_queue" and first["ticket"].split(".")[3] == "0"
    for _ in range(3):
        assert client.delete(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(user)).status_code == 204
        assert _join(client, user, showtime.id).get_json()["ticket"] == first["ticket"]
        assert redis_client.zscore(room_key(showtime.id, "queue"), str(user.id)) == place


def test_a_settings_copy_the_gate_cannot_read_keeps_it_closed(client, ctx, redis_client):
    from app.services.seats.keys import hash_key

    showtime = make_showtime()
    user = make_user()
    assert _lock(client, user, showtime.id, ["A1"]).status_code == 200  # no room: the copy says so
    redis_client.hset(hash_key(showtime.id), "#room", "not,a,room")
    refused = _lock(client, user, showtime.id, ["A2"])
    assert refused.status_code == 403 and _code(refused) == "queue_pass_required"
    redis_client.hdel(hash_key(showtime.id), "#room")  # a copy made before rooms existed: made again
    assert _lock(client, user, showtime.id, ["A2"]).status_code == 200
    staff = make_user(role=Role.ADMIN)
    ancient = client.put(f"/api/admin/showtimes/{showtime.id}/waiting-room", headers=auth_headers(staff),
                         json=_settings(sales_open_at="1960-01-01T00:00:00+00:00"))
    assert ancient.status_code == 422


def test_a_purchase_gives_back_the_admission_but_not_a_place_queued_for_again(client, ctx, redis_client):
    showtime = make_showtime()
    _setup(client, showtime.id)
    first, second = make_user(), make_user()
    assert _join(client, first, showtime.id).status_code == 200
    assert _join(client, second, showtime.id).status_code == 202
    room.bought(showtime.id, second.id)  # a late payment of an earlier admission
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second)).get_json()["position"] == 1
    room.bought(showtime.id, first.id)
    assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second)).status_code == 200


def test_the_beat_task_forgets_a_room_whose_showtime_is_gone(ctx, redis_client):
    from workers.waiting_room import admit_queues

    redis_client.zadd(room_index_key(), {"987654": 1})
    assert admit_queues()["rooms"] == 1
    assert redis_client.zscore(room_index_key(), "987654") is None
