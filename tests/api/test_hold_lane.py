"""The hold lane (app/hotpath/lane.py) answers plain lock/unlock requests in front of Flask's dispatch.

It must answer exactly as the views do (status, headers, body, metrics), take only the requests it
is meant to take, and leave everything else to the app untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_jwt_extended import create_refresh_token, decode_token
from prometheus_client import REGISTRY
from werkzeug.test import Client

from app.extensions import db
from app.hotpath.lane import MAX_BODY, HoldLane, install, installed
from app.models import Role
from tests.conftest import make_test_app, single_redis_app
from tests.factories import auth_headers, make_showtime, make_user


class Entry:
    """The lane of an app, with a record of the requests it passed on to the app."""

    def __init__(self, app: Flask) -> None:
        lane = installed(app)
        assert isinstance(lane, HoldLane), "the lane is installed by create_app"
        self.lane, self.views, self.passed = lane, lane.wsgi_app, []
        self.original = lane.wsgi_app

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            self.passed.append(environ["PATH_INFO"])
            return self.views(environ, start_response)

        lane.wsgi_app = counting

    def restore(self) -> None:
        self.lane.wsgi_app = self.original


@pytest.fixture()
def entry(app: Flask) -> Iterator[Entry]:
    e = Entry(app)
    yield e
    e.restore()


def _answer(response: Any) -> tuple[int, dict[str, str], str, Any]:
    """Status, headers, the body's exact text and its JSON, with what differs between two showtimes and two
    instants taken out."""
    data = response.get_data(as_text=True)
    headers = dict(response.headers)
    assert int(headers.pop("Content-Length", 0)) == len(data.encode())
    headers.pop("X-Request-ID", None)  # made per request by app/logs.py (outside the lane)
    if "ETag" in headers:  # the seat map's: a digest of the bytes, which name the showtime
        headers["ETag"] = "<etag>"
    for pattern, replacement in ((r'("(?:expires_at|retry_at)":\s*)"[^"]*"', r'\1"<t>"'),
                                 (r'("showtime_id":\s*)\d+', r'\1"<id>"'),
                                 (r"showtime \d+", "showtime <id>")):
        data = re.sub(pattern, replacement, data)
    return response.status_code, headers, data, json.loads(data) if data else None


def _scenario(wsgi: Any, app: Flask, entry: Entry) -> tuple[list[tuple[int, dict[str, str], Any]], int]:
    """One run of every answer lock and unlock can give, on a fresh showtime and fresh users; with how
    many of its lock/unlock requests the lane passed on to the app."""
    with app.app_context():
        showtime = make_showtime()
        alice, bob, revoked, suspended = (make_user() for _ in range(4))
        staff = make_user(role=Role.ADMIN)
        h = {name: auth_headers(user) for name, user in
             (("alice", alice), ("bob", bob), ("revoked", revoked), ("suspended", suspended), ("staff", staff))}
        suspended_id, sid = suspended.id, showtime.id
        db.session.commit()
    client = Client(wsgi)
    warm = Client(app)  # full decodes through the app, so the lane knows every token before the scenario

    passed = 0

    def post(who: str, action: str, seats: list[str], showtime_id: int = sid) -> Any:
        nonlocal passed
        before = len(entry.passed)
        try:
            return client.post(f"/api/showtimes/{showtime_id}/redis-{action}-seats", json={"seat_ids": seats},
                               headers=h[who])
        finally:
            passed += len(entry.passed) - before

    for who in h:
        assert warm.post(f"/api/showtimes/{sid}/redis-unlock-seats", json={"seat_ids": ["L18"]},
                         headers=h[who]).status_code == 200
    answers = [
        post("alice", "lock", ["A1", "A2", "A1"]),       # 200
        post("alice", "lock", ["A2", "A1"]),             # 200: renewing both (one instant: a stable order)
        post("bob", "lock", ["A2", "A3"]),               # 409 seat_taken, nothing held
        post("bob", "unlock", ["A1"]),                   # 403 not_holder
        post("bob", "lock", ["A3", "Z9"]),               # 422 unknown_seats
        post("bob", "lock", ["A3"], 999999),             # 404 showtime_not_found
        post("alice", "unlock", ["A1", "A5"]),           # 200, released A1 (A5 was free: checked in the DB)
        post("alice", "unlock", ["Z9"]),                 # 422 unknown_seats (release path)
        post("alice", "unlock", ["A7"], 999999),         # 404 (release path)
        post("bob", "lock", [f"B{n}" for n in range(1, 11)]),  # 200: ten seats, the most one may hold
        post("bob", "lock", ["C1"]),                     # 409 seat_limit_exceeded
    ]
    assert warm.post("/api/user/logout", headers=h["revoked"]).status_code == 204
    assert warm.put(f"/api/admin/users/{suspended_id}/active", json={"active": False},
                    headers=h["staff"]).status_code == 200
    answers += [post("revoked", "lock", ["D1"]), post("revoked", "unlock", ["D1"]),  # 401 token_revoked
                post("suspended", "lock", ["D2"]), post("suspended", "unlock", ["D2"])]  # 401 account_inactive
    answers.append(client.get(f"/api/showtimes/{sid}/seats", headers=h["alice"]))  # the state left behind
    return [_answer(a) for a in answers], passed


def test_the_lane_answers_as_the_views_do(app, entry):
    through_lane, passed = _scenario(entry.lane, app, entry)
    assert passed == 0, "every lock and unlock of the scenario is plain: the lane answers it"
    through_views, _ = _scenario(entry.views, app, entry)
    assert through_lane == through_views
    statuses = [status for status, _, _, _ in through_lane]
    assert statuses == [200, 200, 409, 403, 422, 404, 200, 422, 404, 200, 409, 401, 401, 401, 401, 200]
    codes = [body["error"]["code"] for _, _, _, body in through_lane if "error" in body]
    assert codes == ["seat_taken", "not_holder", "unknown_seats", "showtime_not_found", "unknown_seats",
                     "showtime_not_found", "seat_limit_exceeded", "token_revoked", "token_revoked",
                     "account_inactive", "account_inactive"]
    assert through_lane[6][3]["released"] == ["A1"]


def _limits_scenario(wsgi: Any, app: Flask, entry: Entry) -> tuple[list[tuple[int, dict[str, str], Any]], int]:
    """The refusals of a seat's hold deadline and of the cross-showtime cap (HOLD_MAX_LIFETIME_S = 1 and
    HOLD_MAX_SEATS_PER_USER = 11, set by the caller), through wsgi."""
    import time

    with app.app_context():
        first, second = make_showtime(), make_showtime()
        user = make_user()
        headers, ids = auth_headers(user), (first.id, second.id)
        db.session.commit()
    assert Client(app).post(f"/api/showtimes/{ids[0]}/redis-unlock-seats", json={"seat_ids": ["L18"]},
                            headers=headers).status_code == 200  # the lane knows the token from here
    client = Client(wsgi)
    before = len(entry.passed)

    def post(action: str, seats: list[str], which: int = 0) -> Any:
        return client.post(f"/api/showtimes/{ids[which]}/redis-{action}-seats", json={"seat_ids": seats},
                           headers=headers)

    answers = [post("lock", ["A1"]),                             # 200, until the deadline 1 s away
               post("lock", [f"B{n}" for n in range(1, 11)], 1),  # 200: eleven seats in two showtimes
               post("lock", ["A2"])]                             # 409 hold_limit_exceeded
    time.sleep(1.1)
    answers += [post("lock", ["A1", "A3"]),                      # 409 hold_deadline_reached (A1)
                post("unlock", ["A1"]),                          # 200, nothing to release
                post("lock", ["A3"])]                            # 200: the lapsed holds no longer count
    return [_answer(a) for a in answers], len(entry.passed) - before


def test_the_lane_refuses_past_deadlines_and_caps_as_the_views_do(app, entry, monkeypatch):
    monkeypatch.setitem(app.config, "HOLD_MAX_LIFETIME_S", 1)
    monkeypatch.setitem(app.config, "HOLD_MAX_SEATS_PER_USER", 11)
    through_lane, passed = _limits_scenario(entry.lane, app, entry)
    assert passed == 0
    through_views, _ = _limits_scenario(entry.views, app, entry)
    assert through_lane == through_views
    assert [status for status, _, _, _ in through_lane] == [200, 200, 409, 409, 200, 200]
    assert [body["error"]["code"] for _, _, _, body in through_lane if "error" in body] == [
        "hold_limit_exceeded", "hold_deadline_reached"]
    assert through_lane[3][3]["error"]["details"]["seat_ids"] == ["A1"]


def test_the_lane_counts_its_requests_like_the_views(app, entry):
    with app.app_context():
        showtime, user = make_showtime(), make_user()
        headers, sid = auth_headers(user), showtime.id
        db.session.commit()
    route = "/api/showtimes/<int:showtime_id>/redis-lock-seats"

    def count(status: str) -> float:
        labels = {"method": "POST", "route": route, "status": status}
        return REGISTRY.get_sample_value("cineverse_http_requests_total", labels) or 0.0

    granted = REGISTRY.get_sample_value("cineverse_seat_locks_granted_total") or 0.0
    before_200, before_409 = count("200"), count("409")
    client = Client(app)
    # a token the lane has not seen is decoded there (as jwt_required decodes it), not passed on
    client.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": ["A1"]}, headers=headers)  # lane
    client.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": ["A2"]}, headers=headers)  # lane
    other = auth_headers_in(app, make_user_in(app))
    client.post(f"/api/showtimes/{sid}/redis-unlock-seats", json={"seat_ids": ["A9"]}, headers=other)  # lane
    client.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": ["A1"]}, headers=other)  # lane 409
    assert entry.passed == []
    forged = {"Authorization": headers["Authorization"][:-2] + ("AA" if not headers["Authorization"].endswith("AA")
                                                                  else "BB")}
    assert client.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": ["A3"]},
                       headers=forged).status_code == 401  # refused by the app's own decode
    assert entry.passed == [f"/api/showtimes/{sid}/redis-lock-seats"]
    assert count("200") == before_200 + 2 and count("409") == before_409 + 1 and count("401") >= 1
    assert REGISTRY.get_sample_value("cineverse_seat_locks_granted_total") == granted + 2


def make_user_in(app: Flask) -> int:
    with app.app_context():
        user = make_user()
        db.session.commit()
        return user.id


def auth_headers_in(app: Flask, user_id: int) -> dict[str, str]:
    from app.models import User

    with app.app_context():
        return auth_headers(db.session.get(User, user_id))


@pytest.fixture()
def known(app: Flask) -> dict[str, Any]:
    """A showtime and a user whose token the app has already decoded in full."""
    with app.app_context():
        showtime, user = make_showtime(), make_user()
        headers, sid, uid = auth_headers(user), showtime.id, user.id
        refresh = create_refresh_token(identity=str(uid))
        decode_token(refresh)  # known to the app too, so only its type keeps it out of the lane
        db.session.commit()
    assert Client(app).post(f"/api/showtimes/{sid}/redis-unlock-seats", json={"seat_ids": ["A1"]},
                            headers=headers).status_code == 200
    return {"sid": sid, "headers": headers, "token": headers["Authorization"].split()[1], "refresh": refresh}


def test_a_token_first_seen_is_verified_by_the_lane_with_the_apps_decode(app, entry):
    """2,000 buyers arriving at once each bring a token no worker has seen: the lane verifies it with the
    decode jwt_required runs (decode_token) instead of handing each to Flask's dispatch; an expired one
    is refused by that decode and goes to the app, which answers 401 token_expired."""
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    with app.app_context():
        showtime, user = make_showtime(), make_user()
        headers, sid = auth_headers(user), showtime.id
        expired = create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=-60))
        db.session.commit()
    client = Client(app)
    for _ in range(3):
        assert client.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": ["A1"]},
                           headers=headers).status_code == 200
    assert entry.passed == []
    response = client.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": ["A2"]},
                           headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_expired"
    assert entry.passed == [f"/api/showtimes/{sid}/redis-lock-seats"]


@pytest.mark.parametrize("case", [
    "refresh_token", "forged_signature", "lowercase_scheme", "two_spaces", "cookie_only",
    "extra_field", "too_many_seats", "bad_label", "newline_label", "nul_escape", "not_json", "text_plain",
    "query_string", "leading_zero", "trailing_slash", "get", "huge_body", "no_length",
])
def test_requests_that_are_not_plain_go_to_the_app(app, entry, known, case):
    sid, token = known["sid"], known["token"]
    entry.passed.clear()  # the fixture's own request
    path = f"/api/showtimes/{sid}/redis-lock-seats"
    headers: dict[str, str] = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body: bytes | None = b'{"seat_ids": ["A1"]}'
    method = "POST"
    if case == "refresh_token":
        headers["Authorization"] = f"Bearer {known['refresh']}"
    elif case == "forged_signature":
        headers["Authorization"] = f"Bearer {token[:-2]}{'AA' if token[-2:] != 'AA' else 'BB'}"
    elif case == "lowercase_scheme":
        headers["Authorization"] = f"bearer {token}"
    elif case == "two_spaces":
        headers["Authorization"] = f"Bearer  {token}"
    elif case == "cookie_only":
        del headers["Authorization"]
        headers["Cookie"] = f"access_token_cookie={token}"
    elif case == "extra_field":
        body = b'{"seat_ids": ["A1"], "hold": true}'
    elif case == "too_many_seats":
        body = json.dumps({"seat_ids": [f"C{n}" for n in range(1, 12)]}).encode()
    elif case == "bad_label":
        body = b'{"seat_ids": ["a1"]}'
    elif case == "newline_label":
        body = b'{"seat_ids": ["A1\\n"]}'
    elif case == "nul_escape":  # the last duplicate key wins, so the loaded body alone would look plain
        body = b'{"seat_ids": ["\\u0000"], "seat_ids": ["A1"]}'
    elif case == "not_json":
        body = b'{"seat_ids": ["A1"'
    elif case == "text_plain":
        headers["Content-Type"] = "text/plain"
    elif case == "query_string":
        path += "?debug=1"
    elif case == "leading_zero":
        path = f"/api/showtimes/0{sid}/redis-lock-seats"
    elif case == "trailing_slash":
        path += "/"
    elif case == "get":
        method, body = "GET", None
    elif case == "huge_body":
        body = b'{"seat_ids": ["A1"]' + b" " * MAX_BODY + b"}"
    response = Client(entry.lane).open(path, method=method, headers=headers, data=body,
                                       environ_overrides={"CONTENT_LENGTH": ""} if case == "no_length" else None)
    assert entry.passed == [path.partition("?")[0]], case
    assert response.status_code != 500
    expected = {"nul_escape": 422, "bad_label": 422, "newline_label": 422, "extra_field": 422, "too_many_seats": 422,
                "not_json": 400, "forged_signature": 401, "leading_zero": 200, "query_string": 200}
    if case in expected:
        assert response.status_code == expected[case], (case, response.get_data())
    if case == "nul_escape":
        assert json.loads(response.get_data())["error"]["code"] == "invalid_characters"


def test_the_body_read_by_the_lane_reaches_the_app_whole(app, entry, known):
    """A request the lane declines after reading its body (here: a refresh token) gets the same bytes."""
    seen: list[bytes] = []
    views = entry.views

    def reading(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ["wsgi.input"].read())
        environ["wsgi.input"] = __import__("io").BytesIO(seen[-1])
        return views(environ, start_response)

    entry.views = reading
    entry.passed.clear()
    body = b'{"seat_ids": ["A1", "A2"]}'
    Client(entry.lane).post(f"/api/showtimes/{known['sid']}/redis-lock-seats", data=body,
                            headers={"Authorization": f"Bearer {known['refresh']}",
                                     "Content-Type": "application/json"})
    assert seen == [body]


def test_the_lane_answers_redis_down_as_the_views_do(known):
    down = single_redis_app(REDIS_URL="redis://127.0.0.1:1/0")
    lane = Entry(down)
    try:
        client = Client(down)
        answers = [client.post(f"/api/showtimes/{known['sid']}/redis-{action}-seats", json={"seat_ids": ["A1"]},
                               headers=known["headers"]) for action in ("lock", "lock", "unlock")]
        assert lane.passed == []  # the lane decodes the token itself, then meets Redis down
        assert [_answer(a) for a in answers[1:]] == [_answer(answers[0])] * 2
        assert answers[1].status_code == 503 and answers[1].headers["Retry-After"] == "5"
        assert json.loads(answers[1].get_data())["error"]["code"] == "redis_unavailable"
    finally:
        with down.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_lane_knows_every_hook_of_the_app(app):
    """The lane skips the app's request hooks. It may only because it knows them all: the metrics timer
    and recorder (the lane counts its requests itself), the body check (the lane runs the same
    json_body_problem and leaves such bodies to the app), and the rate limiter (no limit applies to the
    hold routes). A new hook or a limit on a hold route must be looked at here first."""
    def names(funcs: dict[Any, list[Any]]) -> dict[Any, list[str]]:
        return {key: sorted(getattr(f, "__qualname__", getattr(getattr(f, "func", None), "__qualname__", repr(f)))
                            for f in value) for key, value in funcs.items() if value}

    assert names(app.before_request_funcs) == {
        None: ["Limiter._check_request_limit", "_start_timer", "reject_unusable_input"]}
    assert names(app.after_request_funcs) == {None: ["Limiter.__inject_headers", "_record"]}
    assert names(app.teardown_request_funcs) == {None: ["Limiter.__release_context"]}
    assert not app.url_value_preprocessors and not any(app.url_default_functions.values())
    from app.extensions import limiter

    with app.app_context():
        for endpoint in ("holds.lock_seats", "holds.unlock_seats"):
            for in_middleware in (True, False):
                limits = limiter.limit_manager.resolve_limits(app, endpoint, "holds", in_middleware=in_middleware)
                assert not any(limits), (endpoint, limits)
    limited = list(limiter.limit_manager._decorated_limits)  # "module.view.view"; best-seats has one: no lane
    assert not any(name.startswith(("app.api.holds.lock_seats.", "app.api.holds.unlock_seats.")) for name in limited)
    assert "app.api.holds.best_seats.best_seats" in limited  # the names are spelled so
    assert not app.config.get("RATELIMIT_DEFAULT") and not app.config.get("RATELIMIT_APPLICATION")


@pytest.mark.parametrize("setting, value", [
    ("HOLD_LANE_ENABLED", False), ("RATELIMIT_DEFAULT", "100/minute"), ("RATELIMIT_APPLICATION", "1000/minute"),
    ("JWT_TOKEN_LOCATION", ["cookies"]), ("JWT_HEADER_TYPE", "JWT"), ("MAX_CONTENT_LENGTH", 1024),
])
def test_the_lane_stays_out_when_its_assumptions_do_not_hold(setting, value):
    # set after create_app: the limiter is one object for every app, and a default limit given to
    # create_app would stay with it for the rest of the session
    app = make_test_app(HOLD_LANE_ENABLED=False)
    assert installed(app) is None
    app.config["HOLD_LANE_ENABLED"] = True
    app.config[setting] = value
    install(app)
    assert installed(app) is None


def test_the_lane_is_installed_once():
    app = make_test_app()
    lane = installed(app)
    assert isinstance(lane, HoldLane)
    install(app)
    assert installed(app) is lane and not isinstance(lane.wsgi_app, HoldLane)


def _seat_map_scenario(wsgi: Any, app: Flask, entry: Entry) -> tuple[list[tuple[int, dict[str, str], Any]], int]:
    """Every answer the seat map gives, through wsgi: anonymous, with a token (mine marks), 304 for a
    known ETag, 404, a revoked token's 401; with how many map requests the lane passed on."""
    with app.app_context():
        showtime, alice, revoked = make_showtime(), make_user(), make_user()
        h = {"alice": auth_headers(alice), "revoked": auth_headers(revoked)}
        sid = showtime.id
        db.session.commit()
    warm = Client(app)
    for who in h:  # full decodes through the app first, so the lane knows the tokens
        assert warm.post(f"/api/showtimes/{sid}/redis-lock-seats", json={"seat_ids": [f"K{len(who)}"]},
                         headers=h[who]).status_code == 200
    assert warm.post("/api/user/logout", headers=h["revoked"]).status_code == 204
    client = Client(wsgi)
    before = len(entry.passed)
    url = f"/api/showtimes/{sid}/seats"
    anonymous = client.get(url)
    mine = client.get(url, headers=h["alice"])
    answers = [anonymous, mine,
               client.get(url, headers={"If-None-Match": anonymous.headers["ETag"]}),              # 304
               client.get(url, headers={**h["alice"], "If-None-Match": f'W/{mine.headers["ETag"]}, "x"'}),  # 304
               client.get(url, headers={**h["alice"], "If-None-Match": anonymous.headers["ETag"]}),  # 200
               client.get("/api/showtimes/999999/seats"),                                           # 404
               client.get(url, headers=h["revoked"])]                                               # 401
    return [_answer(a) for a in answers], len(entry.passed) - before


def test_the_lane_answers_the_seat_map_as_the_view_does(app, entry):
    through_lane, passed = _seat_map_scenario(entry.lane, app, entry)
    assert passed == 0, "every map request of the scenario is plain: the lane answers it"
    through_views, _ = _seat_map_scenario(entry.views, app, entry)
    assert through_lane == through_views
    assert [status for status, _, _, _ in through_lane] == [200, 200, 304, 304, 200, 404, 401]
    assert [body["error"]["code"] for _, _, _, body in through_lane if body and "error" in body] == [
        "showtime_not_found", "token_revoked"]
    mine = {s["id"]: s["mine"] for s in through_lane[1][3]["seats"]}
    assert mine["K5"] is True and mine["K7"] is False  # alice's own hold, and the other user's


def test_the_lane_leaves_unusual_seat_map_requests_to_the_app(app, entry):
    with app.app_context():
        sid = make_showtime().id
    client = Client(app)
    for path, headers in ((f"/api/showtimes/{sid}/seats?x=1", {}),
                          (f"/api/showtimes/{sid}/seats", {"Authorization": "Bearer not.a-known.token"}),
                          (f"/api/showtimes/{sid}/seats", {"Authorization": "Basic abc"}),
                          (f"/api/showtimes/0{sid}/seats", {})):
        entry.passed.clear()
        client.get(path, headers=headers)
        assert entry.passed, path
