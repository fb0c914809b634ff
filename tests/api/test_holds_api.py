"""Seat hold routes over HTTP: bodies, error shapes, staff-only holder ids, the seat map, Redis down."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from redis.cluster import RedisCluster

from app.extensions import db
from app.models import Role
from tests.conftest import REDIS_URL, single_redis_app
from tests.factories import auth_headers, make_showtime, make_user
from tests.tcp_proxy import TcpProxy


@pytest.fixture()
def setup(ctx):
    showtime = make_showtime()
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    staff = make_user(role=Role.ADMIN)
    return {"id": showtime.id, "alice": auth_headers(alice), "bob": auth_headers(bob), "staff": auth_headers(staff),
            "alice_id": str(alice.id), "bob_id": str(bob.id)}


def url(setup, action):
    return f"/api/showtimes/{setup['id']}/{action}"


def test_lock_answers_the_held_seats_and_their_expiry(client, setup):
    response = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1", "A2", "A2"]},
                           headers=setup["alice"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["showtime_id"] == setup["id"] and body["seat_ids"] == ["A1", "A2"]
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == timedelta(0)
    assert timedelta(seconds=170) < expires - datetime.now(timezone.utc) <= timedelta(seconds=180)
    assert body["ttl_ms"] == 180_000
    assert [h["seat_id"] for h in body["holds"]] == ["A1", "A2"]


def test_taken_seats_answer_409_naming_them(client, setup):
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["B2"]},
                       headers=setup["bob"]).status_code == 200
    response = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["B1", "B2"]}, headers=setup["alice"])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "seat_taken" and error["details"]["seat_ids"] == ["B2"]
    assert "B2" in error["message"]
    seats = {s["id"]: s for s in client.get(f"/api/showtimes/{setup['id']}/seats").get_json()["seats"]}
    assert seats["B1"]["status"] == "available"  # nothing left behind


@pytest.mark.parametrize("body, field", [
    ({}, "seat_ids"),
    ({"seat_ids": []}, "seat_ids"),
    ({"seat_ids": ["a1"]}, "seat_ids"),
    ({"seat_ids": ["A0"]}, "seat_ids"),
    ({"seat_ids": ["AA1"]}, "seat_ids"),
    ({"seat_ids": "A1"}, "seat_ids"),
    ({"seat_ids": [1]}, "seat_ids"),
    ({"seat_ids": [f"C{n}" for n in range(1, 12)]}, "seat_ids"),
    ({"seat_ids": ["A1"], "extra": 1}, "extra"),
])
def test_bad_bodies_are_422_naming_the_field(client, setup, body, field):
    response = client.post(url(setup, "redis-lock-seats"), json=body, headers=setup["alice"])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"]


def test_unknown_seats_showtimes_and_no_token(client, setup):
    response = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1", "Z9"]}, headers=setup["alice"])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_seats"
    assert response.get_json()["error"]["details"]["seat_ids"] == ["Z9"]
    response = client.post("/api/showtimes/999999/redis-lock-seats", json={"seat_ids": ["A1"]},
                           headers=setup["alice"])
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "showtime_not_found"
    response = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1"]})
    assert response.status_code == 401  # the JWT error body's shape belongs to the accounts issue
    response = client.post(url(setup, "redis-lock-seats"), data="nope", headers=setup["alice"],
                           content_type="application/json")
    assert response.status_code in (400, 422)


def test_past_showtime_is_refused(client, ctx):
    past = make_showtime(starts_at=datetime.now(timezone.utc) - timedelta(hours=1))
    response = client.post(f"/api/showtimes/{past.id}/redis-lock-seats", json={"seat_ids": ["A1"]},
                           headers=auth_headers(make_user()))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "showtime_started"


def test_unlock_and_extend_only_by_the_holder(client, setup):
    client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1", "A2"]}, headers=setup["alice"])
    for action in ("redis-unlock-seats", "redis-extend-locks"):
        response = client.post(url(setup, action), json={"seat_ids": ["A1"]}, headers=setup["bob"])
        assert response.status_code == 403, action
        assert response.get_json()["error"]["code"] == "not_holder"
        assert response.get_json()["error"]["details"]["seat_ids"] == ["A1"]
    response = client.post(url(setup, "redis-extend-locks"), json={"seat_ids": ["A1", "A2"]}, headers=setup["alice"])
    assert response.status_code == 200 and response.get_json()["seat_ids"] == ["A1", "A2"]
    response = client.post(url(setup, "redis-extend-locks"), json={"seat_ids": ["A3"]}, headers=setup["alice"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "hold_expired"
    response = client.post(url(setup, "redis-unlock-seats"), json={"seat_ids": ["A1"]}, headers=setup["alice"])
    assert response.status_code == 200
    assert response.get_json() == {"showtime_id": setup["id"], "seat_ids": ["A1"], "released": ["A1"]}
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1"]},
                       headers=setup["bob"]).status_code == 200


def test_inspect_shows_holder_ids_to_staff_only(client, setup):
    client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1"]}, headers=setup["alice"])
    own = client.get(url(setup, "redis-inspect-locks") + "?seat_ids=A1,A2", headers=setup["alice"]).get_json()
    assert [(s["seat_id"], s["held"], s["mine"]) for s in own["seats"]] == [("A1", True, True), ("A2", False, False)]
    assert 0 < own["seats"][0]["ttl_ms"] <= 180_000 and own["seats"][1]["ttl_ms"] is None
    assert all("holder_id" not in s for s in own["seats"])
    other = client.get(url(setup, "redis-inspect-locks") + "?seat_ids=A1", headers=setup["bob"]).get_json()
    assert other["seats"][0]["held"] is True and other["seats"][0]["mine"] is False
    assert "holder_id" not in other["seats"][0]
    staff = client.get(url(setup, "redis-inspect-locks") + "?seat_ids=A1,A2", headers=setup["staff"]).get_json()
    assert staff["seats"][0]["holder_id"] == setup["alice_id"] and staff["seats"][1]["holder_id"] is None
    every = client.get(url(setup, "redis-inspect-locks"), headers=setup["staff"]).get_json()
    assert [s["seat_id"] for s in every["seats"]] == ["A1"]
    bad = client.get(url(setup, "redis-inspect-locks") + "?seat_ids=A1,nope", headers=setup["staff"])
    assert bad.status_code == 422
    assert client.get(url(setup, "redis-inspect-locks")).status_code == 401


def test_seat_map_shows_holds_as_locked_and_mine(client, setup):
    client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["C5", "C6"]}, headers=setup["alice"])
    mine = client.get(f"/api/showtimes/{setup['id']}/seats", headers=setup["alice"]).get_json()
    seats = {s["id"]: s for s in mine["seats"]}
    assert (seats["C5"]["status"], seats["C5"]["mine"]) == ("locked", True)
    assert mine["counts"]["locked"] == 2 and mine["holds_available"] is True and mine["version"] >= 1
    theirs = {s["id"]: s for s in client.get(f"/api/showtimes/{setup['id']}/seats",
                                             headers=setup["bob"]).get_json()["seats"]}
    assert (theirs["C5"]["status"], theirs["C5"]["mine"]) == ("locked", False)
    anonymous = {s["id"]: s for s in client.get(f"/api/showtimes/{setup['id']}/seats").get_json()["seats"]}
    assert (anonymous["C6"]["status"], anonymous["C6"]["mine"]) == ("locked", False)
    assert anonymous["C7"]["status"] == "available"


def test_racing_requests_one_winner(app, setup):
    """Sixteen users race through the HTTP route for the same two seats: one 200, the rest 409."""
    with app.app_context():
        headers = [auth_headers(make_user()) for _ in range(16)]
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def attempt(h):
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["H1", "H2"]},
                                    headers=h).status_code)

    threads = [threading.Thread(target=attempt, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200] + [409] * 15


def test_redis_down_locks_503_seat_map_from_db(setup):
    down = single_redis_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = down.test_client()
    with down.app_context():
        response = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["A1"]}, headers=setup["alice"])
        assert response.status_code == 503
        error = response.get_json()["error"]
        assert error["code"] == "redis_unavailable" and "unavailable" in error["message"]
        assert response.headers["Retry-After"] == "5"
        seat_map = client.get(f"/api/showtimes/{setup['id']}/seats", headers=setup["alice"])
        assert seat_map.status_code == 200, seat_map.get_json()
        body = seat_map.get_json()
        assert body["holds_available"] is False and body["version"] is None and len(body["seats"]) == 216
        assert client.post(url(setup, "redis-unlock-seats"), json={"seat_ids": ["A1"]},
                           headers=setup["alice"]).status_code == 503
        db.session.remove()
        db.engine.dispose()


def test_recovers_by_itself_when_redis_returns(setup):
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379).start()
    flaky = single_redis_app(REDIS_URL=f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}")
    client = flaky.test_client()
    with flaky.app_context():
        try:
            lock = {"json": {"seat_ids": ["A1"]}, "headers": setup["alice"]}
            assert client.post(url(setup, "redis-lock-seats"), **lock).status_code == 200
            proxy.stop()
            assert client.post(url(setup, "redis-extend-locks"), **lock).status_code == 503
            assert client.get(f"/api/showtimes/{setup['id']}/seats").get_json()["holds_available"] is False
            proxy.start()
            assert client.post(url(setup, "redis-extend-locks"), **lock).status_code == 200
            seats = client.get(f"/api/showtimes/{setup['id']}/seats", headers=setup["alice"]).get_json()
            assert seats["holds_available"] is True
            assert {s["id"]: s["mine"] for s in seats["seats"]}["A1"] is True
        finally:
            proxy.stop()
            db.session.remove()
            db.engine.dispose()


def test_openapi_documents_the_hold_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    lock = spec["paths"]["/api/showtimes/{showtime_id}/redis-lock-seats"]["post"]
    assert {"200", "401", "409", "422", "503"} <= set(lock["responses"])
    assert "/api/showtimes/{showtime_id}/redis-inspect-locks" in spec["paths"]
    assert "/api/showtimes/{showtime_id}/redis-extend-locks" in spec["paths"]


def test_unlock_and_extend_still_name_unknown_showtimes_and_seats(client, setup):
    """Release and extend read the database only when Redis had nothing to do: the 4xx stay precise."""
    for action in ("redis-unlock-seats", "redis-extend-locks"):
        missing = client.post(f"/api/showtimes/999999/{action}", json={"seat_ids": ["A1"]}, headers=setup["alice"])
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "showtime_not_found"
        unknown = client.post(url(setup, action), json={"seat_ids": ["A1", "Z9"]}, headers=setup["alice"])
        assert unknown.status_code == 422 and unknown.get_json()["error"]["details"]["seat_ids"] == ["Z9"]


def test_holds_can_be_renewed_only_a_bounded_number_of_times(client, setup, app):
    maximum = app.config["HOLD_MAX_RENEWALS"]
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["E5"]},
                       headers=setup["alice"]).status_code == 200
    for _ in range(maximum):
        assert client.post(url(setup, "redis-extend-locks"), json={"seat_ids": ["E5"]},
                           headers=setup["alice"]).status_code == 200
    refused = client.post(url(setup, "redis-extend-locks"), json={"seat_ids": ["E5"]}, headers=setup["alice"])
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "renewal_limit_reached"
    # another user's renewals are counted apart
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["E6"]},
                       headers=setup["bob"]).status_code == 200
    assert client.post(url(setup, "redis-extend-locks"), json={"seat_ids": ["E6"]},
                       headers=setup["bob"]).status_code == 200


def test_a_revoked_token_gets_401_from_lock_and_unlock_on_every_path(client, setup, app, redis_client):
    """Lock and unlock check revocation inside their hold script (no lookup of its own): every way through
    them must still refuse a revoked token at once, and change nothing."""
    user = make_user()
    headers = auth_headers(user)
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["C1"]}, headers=headers).status_code == 200
    assert client.post("/api/user/logout", headers=headers).status_code == 204
    too_many = [f"D{n}" for n in range(1, app.config["MAX_SEATS_PER_BOOKING"] + 2)]
    warm = f"{app.config['SEAT_LOCK_PREFIX']}:auth:revoked:warm"
    for action, body in (("redis-lock-seats", {"seat_ids": ["C2"]}),       # refused by the script
                         ("redis-unlock-seats", {"seat_ids": ["C1"]}),     # refused by the script
                         ("redis-lock-seats", {"seat_ids": ["a1"]}),       # 422 before any script
                         ("redis-lock-seats", {}),
                         ("redis-lock-seats", {"seat_ids": too_many}),     # refused before the script
                         ("redis-lock-seats", {"seat_ids": ["Z9"]})):      # refused by the seat facts
        response = client.post(url(setup, action), json=body, headers=headers)
        assert response.status_code == 401, (action, body, response.get_json())
        assert response.get_json()["error"] == {"code": "token_revoked", "message": "The token was revoked.",
                                                "details": {"token_type": "access"}}
    # a cold revocation mirror (Redis restarted: marker and entries gone): the full check rebuilds it
    pattern = f"{app.config['SEAT_LOCK_PREFIX']}:auth:revoked:*"
    if isinstance(redis_client, RedisCluster):  # KEYS asks one node unless told otherwise; DEL is per slot
        for key in redis_client.keys(pattern, target_nodes=RedisCluster.PRIMARIES):
            redis_client.delete(key)
    else:
        redis_client.delete(*redis_client.keys(pattern))
    response = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["C3"]}, headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
    assert redis_client.exists(warm)
    holders = {s["seat_id"]: s.get("holder_id") for s in client.get(
        url(setup, "redis-inspect-locks") + "?seat_ids=C1,C2,C3", headers=setup["staff"]).get_json()["seats"]}
    assert holders == {"C1": str(user.id), "C2": None, "C3": None}
    # a live token is unaffected, with a warm or a cold mirror
    redis_client.delete(warm)
    for action in ("redis-lock-seats", "redis-unlock-seats", "redis-lock-seats"):
        assert client.post(url(setup, action), json={"seat_ids": ["C4"]}, headers=setup["bob"]).status_code == 200


def test_a_revoked_token_gets_401_from_lock_while_redis_is_down(client, setup):
    user = make_user()
    headers = auth_headers(user)
    assert client.post("/api/user/logout", headers=headers).status_code == 204
    db.session.commit()
    down = single_redis_app(REDIS_URL="redis://127.0.0.1:1/0")
    with down.app_context():
        try:
            for action in ("redis-lock-seats", "redis-unlock-seats"):
                response = down.test_client().post(url(setup, action), json={"seat_ids": ["A1"]}, headers=headers)
                assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
        finally:
            db.session.remove()
            db.engine.dispose()


PLAIN_BODIES = [{"seat_ids": ["A1"]}, {"seat_ids": ["A1", "B12", "A1"]}, {"seat_ids": [f"C{n}" for n in range(1, 11)]},
                {"seat_ids": [f"C{n}" for n in range(1, 11)] + ["C1", "C2"]}]


@pytest.mark.parametrize("data", PLAIN_BODIES + [
    {"seat_ids": [f"C{n}" for n in range(1, 12)]}, {"seat_ids": []}, {"seat_ids": ["a1"]}, {"seat_ids": ["A0"]},
    {"seat_ids": ["A1\n"]}, {"seat_ids": [1]}, {"seat_ids": "A1"}, {"seat_ids": None},
    {"seat_ids": ["A1"], "extra": 1}, {}, [], "A1", None,
])
def test_the_fast_body_path_agrees_with_the_schema(ctx, data):
    from marshmallow import ValidationError as SchemaError

    from app.api.holds import plain_seat_ids
    from app.schemas.holds import SeatIdsSchema

    fast = plain_seat_ids(data, ctx.config["MAX_SEATS_PER_BOOKING"])
    try:
        loaded = SeatIdsSchema().load(data)
    except SchemaError:
        loaded = None
    # the fast path accepts only what the schema accepts, with the same result; the rest goes to the schema
    assert fast is None or fast == loaded
    if data in PLAIN_BODIES:
        assert fast is not None


def test_the_written_out_dumps_agree_with_the_schemas():
    from app.hotpath.holds_work import dump_holds, dump_released
    from app.schemas.holds import HoldsSchema, ReleasedSchema

    at = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    two = [{"seat_id": "A1", "expires_at": at}, {"seat_id": "B2", "expires_at": at.replace(microsecond=0)}]
    for holds_ in ([], two):
        body = {"showtime_id": 7, "seat_ids": ["A1", "B2"], "expires_at": at, "ttl_ms": 180000, "holds": holds_}
        assert dump_holds(body) == HoldsSchema().dump(body)
    for released in ([], ["A1"]):
        body = {"showtime_id": 7, "seat_ids": ["A1", "B2"], "released": released}
        assert dump_released(body) == ReleasedSchema().dump(body)


def test_lock_and_unlock_answer_the_same_through_the_schema_path(client, setup, monkeypatch):
    def exchange():
        lock = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["F1", "F2", "F1"]},
                           headers=setup["alice"])
        unlock = client.post(url(setup, "redis-unlock-seats"), json={"seat_ids": ["F2", "F3"]},
                             headers=setup["alice"])
        body = lock.get_json()
        for key in ("expires_at", "holds"):
            body.pop(key)
        return lock.status_code, lock.mimetype, body, unlock.status_code, unlock.get_json()

    fast = exchange()
    monkeypatch.setattr("app.api.holds.plain_seat_ids", lambda *_: None)
    assert exchange() == fast == (200, "application/json", {"showtime_id": setup["id"], "seat_ids": ["F1", "F2"],
                                                          "ttl_ms": 180000}, 200,
                                  {"showtime_id": setup["id"], "seat_ids": ["F2", "F3"], "released": ["F2"]})


def _hold_expiry(client, setup, seat):
    [seat_lock] = client.get(url(setup, "redis-inspect-locks") + f"?seat_ids={seat}",
                             headers=setup["alice"]).get_json()["seats"]
    return datetime.fromisoformat(seat_lock["expires_at"]) if seat_lock["held"] else None


def test_create_order_again_never_stretches_a_hold_past_its_deadline(client, setup, app, monkeypatch):
    """A created order stretches the holds over its payment window, and its expiry once let the buyer
    create another: each step renewed the seats, for ever. The seat's deadline caps every one of them."""
    import sqlalchemy as sa

    from app.models import Order
    from app.services import orders

    monkeypatch.setitem(app.config, "HOLD_MAX_LIFETIME_S", 30)
    order = {"json": {"showtime_id": setup["id"], "seat_ids": ["G1", "G2"]}, "headers": setup["alice"]}
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["G1", "G2"]},
                       headers=setup["alice"]).status_code == 200
    # the server's deadline, at the latest (Redis counts whole milliseconds: allow the one it rounds to)
    deadline = datetime.now(timezone.utc) + timedelta(seconds=30, milliseconds=1)
    first = client.post("/api/payments/create-order", **order)
    assert first.status_code == 201, first.get_json()
    assert _hold_expiry(client, setup, "G1") <= deadline
    assert client.post("/api/payments/create-order", **order).get_json()["order_id"] == first.get_json()["order_id"]
    assert _hold_expiry(client, setup, "G2") <= deadline  # the open order returned again: still capped
    # the order's payment window passes (the beat task expires it) while the holds are still there
    db.session.execute(sa.update(Order).where(Order.public_id == first.get_json()["order_id"])
                       .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert orders.expire_stale_orders() == 1
    db.session.commit()
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["G1", "G2"]},
                       headers=setup["alice"]).status_code == 200
    second = client.post("/api/payments/create-order", **order)
    assert second.status_code == 201 and second.get_json()["order_id"] != first.get_json()["order_id"]
    assert _hold_expiry(client, setup, "G1") <= deadline and _hold_expiry(client, setup, "G2") <= deadline


def test_the_deadline_and_the_cross_showtime_cap_answer_409_with_stable_codes(client, setup, app, monkeypatch):
    import time

    monkeypatch.setitem(app.config, "HOLD_MAX_LIFETIME_S", 1)
    monkeypatch.setitem(app.config, "HOLD_MAX_SEATS_PER_USER", 11)
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["K1"]},
                       headers=setup["alice"]).status_code == 200
    time.sleep(1.1)
    refused = client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["K1"]}, headers=setup["alice"])
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "hold_deadline_reached" and error["details"]["seat_ids"] == ["K1"]
    assert datetime.fromisoformat(error["details"]["retry_at"]) > datetime.now(timezone.utc)
    assert client.post(url(setup, "redis-unlock-seats"), json={"seat_ids": ["K1"]},
                       headers=setup["alice"]).get_json()["released"] == []

    monkeypatch.setitem(app.config, "HOLD_MAX_LIFETIME_S", 900)
    other = make_showtime()
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": [f"L{n}" for n in range(1, 11)]},
                       headers=setup["alice"]).status_code == 200
    capped = client.post(f"/api/showtimes/{other.id}/redis-lock-seats", json={"seat_ids": ["A1", "A2"]},
                         headers=setup["alice"])
    assert capped.status_code == 409
    assert capped.get_json()["error"]["code"] == "hold_limit_exceeded"
    assert capped.get_json()["error"]["details"] == {"max": 11, "held": 10}
    assert client.post(f"/api/showtimes/{other.id}/redis-lock-seats", json={"seat_ids": ["A1"]},
                       headers=setup["alice"]).status_code == 200
    spec = client.get("/api/openapi.json").get_json()
    lock_doc = spec["paths"]["/api/showtimes/{showtime_id}/redis-lock-seats"]["post"]["responses"]["409"]
    assert "hold_deadline_reached" in lock_doc["description"] and "hold_limit_exceeded" in lock_doc["description"]


def test_an_order_never_promises_longer_than_its_seats_are_held(client, setup, app, monkeypatch):
    """When the seats' deadline cuts the payment window short, the order expires with its holds, so the
    checkout never shows a "held until" later than the hold itself."""
    monkeypatch.setitem(app.config, "HOLD_MAX_LIFETIME_S", 30)
    order = {"json": {"showtime_id": setup["id"], "seat_ids": ["H1", "H2"]}, "headers": setup["alice"]}
    assert client.post(url(setup, "redis-lock-seats"), json={"seat_ids": ["H1", "H2"]},
                       headers=setup["alice"]).status_code == 200
    created = client.post("/api/payments/create-order", **order)
    assert created.status_code == 201, created.get_json()
    promised = datetime.fromisoformat(created.get_json()["expires_at"])
    # a hold's expiry is read back as the server's now + PTTL, each in whole milliseconds: allow the one
    # millisecond that reading can fall short by
    slack = timedelta(milliseconds=1)
    assert promised <= min(_hold_expiry(client, setup, "H1"), _hold_expiry(client, setup, "H2")) + slack
    again = client.post("/api/payments/create-order", **order).get_json()  # the open order, returned again
    assert datetime.fromisoformat(again["expires_at"]) <= _hold_expiry(client, setup, "H1") + slack
