"""/metrics in one process: what moves when requests, holds, webhooks, sockets and tasks happen; the token;
the rate limiter leaves it alone. (tests/workers/test_metrics_processes.py covers several processes.)"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from app.config import Config, ConfigError
from app.extensions import db, limiter
from app.services.seats import expiry, holds
from tests.conftest import make_test_app
from tests.factories import auth_headers, make_showtime, make_user
from tests.metrics_support import delta, label_values, parse, total, value
from tests.realtime.helpers import connect, receive, serve_in_thread, wait_for

SEATS_ROUTE = "/api/showtimes/<int:showtime_id>/seats"
LOCK_ROUTE = "/api/showtimes/<int:showtime_id>/redis-lock-seats"
TOKEN = "scrape-token-0123456789abcdef"


def scrape(client, headers=None):
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def test_requests_are_counted_and_timed_by_route_template(client, ctx):
    first, second = make_showtime(), make_showtime()
    before = scrape(client)
    for showtime in (first, second, first):
        assert client.get(f"/api/showtimes/{showtime.id}/seats").status_code == 200
    assert client.get("/api/showtimes/999999/seats").status_code == 404
    after = scrape(client)

    ok = {"method": "GET", "route": SEATS_ROUTE, "status": "200"}
    assert delta(before, after, "cineverse_http_requests_total", **ok) == 3
    assert delta(before, after, "cineverse_http_requests_total", **{**ok, "status": "404"}) == 1
    timed = {"method": "GET", "route": SEATS_ROUTE}
    count = "cineverse_http_request_duration_seconds_count"
    assert delta(before, after, count, **timed) == 4
    # every request falls in the +Inf bucket, and the sum of durations grew
    assert value(after, "cineverse_http_request_duration_seconds_bucket", le="+Inf", **timed) == value(after, count,
                                                                                                       **timed)
    assert value(after, "cineverse_http_request_duration_seconds_sum", **timed) > value(
        before, "cineverse_http_request_duration_seconds_sum", **timed)
    routes = label_values(after, "cineverse_http_requests_total", "route")
    assert not any(str(s.id) in route for s in (first, second) for route in routes), routes


def test_unmatched_paths_and_odd_methods_share_one_label(client, ctx):
    before = scrape(client)
    # POST matches no rule (the SPA fallback takes GET only): werkzeug answers 405 without a rule
    for path in ("/api/no/such/thing", "/wp-login.php", "/x" * 50):
        assert client.post(path).status_code == 405
    assert client.open("/api/", method="BREW").status_code == 405
    after = scrape(client)
    unmatched = {"method": "POST", "route": "<unmatched>", "status": "405"}
    assert delta(before, after, "cineverse_http_requests_total", **unmatched) == 3
    odd = {"method": "other", "route": "<unmatched>", "status": "405"}
    assert delta(before, after, "cineverse_http_requests_total", **odd) == 1
    routes = label_values(after, "cineverse_http_requests_total", "route")
    assert not {"/api/no/such/thing", "/wp-login.php"} & routes
    assert "BREW" not in label_values(after, "cineverse_http_requests_total", "method")


def test_lock_and_unlock_move_the_hold_counters(client, ctx):
    showtime = make_showtime()
    alice, bob = auth_headers(make_user(name="Alice")), auth_headers(make_user(name="Bob"))
    url = f"/api/showtimes/{showtime.id}"
    before = scrape(client)
    assert client.post(f"{url}/redis-lock-seats", json={"seat_ids": ["A1", "A2"]}, headers=alice).status_code == 200
    taken = client.post(f"{url}/redis-lock-seats", json={"seat_ids": ["A2", "A3"]}, headers=bob)
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "seat_taken"
    unknown = client.post(f"{url}/redis-lock-seats", json={"seat_ids": ["Z9"]}, headers=bob)
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_seats"
    released = client.post(f"{url}/redis-unlock-seats", json={"seat_ids": ["A1", "A2"]}, headers=alice)
    assert released.status_code == 200 and released.get_json()["released"] == ["A1", "A2"]
    after = scrape(client)

    def moved(name, **labels):
        return delta(before, after, name, **labels)

    assert moved("cineverse_seat_locks_granted_total") == 1
    assert moved("cineverse_seat_locks_refused_total", reason="seat_taken") == 1
    assert moved("cineverse_seat_locks_refused_total", reason="unknown_seats") == 1
    assert moved("cineverse_seat_holds_released_total", event="seat_released") == 2
    assert moved("cineverse_http_requests_total", method="POST", route=LOCK_ROUTE, status="200") == 1
    assert moved("cineverse_http_requests_total", method="POST", route=LOCK_ROUTE, status="409") == 1


def test_expiry_sweep_counts_lapsed_seats_and_the_task_run(app, client, ctx):
    showtime = make_showtime()
    holds.lock(showtime.id, "7", ["C1", "C2"], ttl_ms=1000)
    before = scrape(client)
    wait_for(lambda: expiry.due_showtimes() == [showtime.id], timeout=10)
    result = app.extensions["celery"].tasks["workers.holds.expire_holds"].apply()
    assert result.get()["released"] == 2
    after = scrape(client)
    assert value(after, "cineverse_seat_holds_expired_total") - value(before, "cineverse_seat_holds_expired_total") == 2
    task = {"task": "workers.holds.expire_holds"}
    assert (value(after, "cineverse_celery_tasks_finished_total", state="SUCCESS", **task)
            - value(before, "cineverse_celery_tasks_finished_total", state="SUCCESS", **task)) == 1


WEBHOOK_SECRET = "whsec_metrics_test_secret"


def _webhook(client, event_id: str, secret: str = WEBHOOK_SECRET):
    body = json.dumps({"entity": "event", "event": "payment.captured", "contains": ["payment"],
                       "payload": {"payment": {"entity": {"id": "pay_M1", "entity": "payment", "amount": 100,
                                                          "currency": "INR", "status": "captured",
                                                          "order_id": "order_M1"}}}}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post("/api/payments/webhook", data=body, headers={
        "X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": event_id, "Content-Type": "application/json"})


def test_webhooks_are_counted_by_outcome(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
    app.extensions.pop("payment_gateway", None)  # rebuilt with the secret (and again afterwards)
    try:
        before = scrape(client)
        assert _webhook(client, "evt_m1").get_json()["status"] == "accepted"
        assert _webhook(client, "evt_m1").get_json()["status"] == "duplicate"
        bad = _webhook(client, "evt_m2", secret="not-the-secret")
        assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_signature"
        after = scrape(client)
    finally:
        app.extensions.pop("payment_gateway", None)
    for outcome in ("accepted", "duplicate", "invalid_signature"):
        assert (value(after, "cineverse_payment_webhooks_received_total", outcome=outcome)
                - value(before, "cineverse_payment_webhooks_received_total", outcome=outcome)) == 1, outcome


def test_open_websockets_are_a_gauge_and_not_requests(app, client, ctx):
    showtime = make_showtime()
    db.session.commit()
    before = scrape(client)["cineverse_websocket_connections", ()]
    with serve_in_thread(app) as port:
        ws = connect(port, showtime.id)
        try:
            assert receive(ws)["type"] == "snapshot"
            wait_for(lambda: scrape(client)["cineverse_websocket_connections", ()] == before + 1)
        finally:
            ws.close()
        wait_for(lambda: scrape(client)["cineverse_websocket_connections", ()] == before)
    routes = label_values(scrape(client), "cineverse_http_requests_total", "route")
    assert not any(route.endswith("/ws") for route in routes)


# ---- Celery signals -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def test_tasks(app):
    celery_app = app.extensions["celery"]
    attempts: dict[str, int] = {}

    @celery_app.task(name="tests.metrics.fails")
    def fails() -> None:
        raise LookupError("no such thing")

    @celery_app.task(name="tests.metrics.retries_once", bind=True, max_retries=1)
    def retries_once(self) -> str:  # type: ignore[no-untyped-def]
        attempts[self.request.id] = attempts.get(self.request.id, 0) + 1
        if attempts[self.request.id] == 1:
            raise self.retry(countdown=0)
        return "done"

    return {"fails": fails, "retries_once": retries_once}


def test_celery_signals_count_tasks_by_name_and_state_and_time_them(client, ctx, test_tasks):
    before = scrape(client)
    failed = test_tasks["fails"].apply()
    assert failed.state == "FAILURE"
    retried = test_tasks["retries_once"].apply()
    assert retried.get() == "done"
    after = scrape(client)

    def moved(name, **labels):
        return delta(before, after, name, **labels)

    fails, retries = {"task": "tests.metrics.fails"}, {"task": "tests.metrics.retries_once"}
    assert moved("cineverse_celery_tasks_started_total", **fails) == 1
    assert moved("cineverse_celery_tasks_finished_total", state="FAILURE", **fails) == 1
    assert moved("cineverse_celery_task_failures_total", exception="LookupError", **fails) == 1
    assert moved("cineverse_celery_task_runtime_seconds_count", **fails) == 1
    # the retry ran the task twice: one run ended in RETRY, the next in SUCCESS, both timed
    assert moved("cineverse_celery_tasks_started_total", **retries) == 2
    assert moved("cineverse_celery_tasks_finished_total", state="RETRY", **retries) == 1
    assert moved("cineverse_celery_tasks_finished_total", state="SUCCESS", **retries) == 1
    assert moved("cineverse_celery_task_runtime_seconds_count", **retries) == 2
    assert total(after, "cineverse_celery_task_failures_total", **retries) == total(
        before, "cineverse_celery_task_failures_total", **retries)  # a retry is not a failure


# ---- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("authorization, code", [
    (None, "unauthorized"),
    ("Bearer", "unauthorized"),
    ("Basic " + TOKEN, "unauthorized"),
    ("Bearer wrong-token", "invalid_token"),
    ("Bearer " + TOKEN[:-1], "invalid_token"),
    ("Bearer " + TOKEN + "x", "invalid_token"),
    ("Bearer t\u00f6ken-\u00e9\u00e8-0123456789", "invalid_token"),
])
def test_a_set_token_is_required(app, client, monkeypatch, authorization, code):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == code
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"cineverse_" not in response.get_data()


def test_the_right_token_is_let_in(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    samples = scrape(client, {"Authorization": f"Bearer {TOKEN}"})
    assert ("cineverse_seat_locks_granted_total", ()) in samples
    assert scrape(client, {"Authorization": f"bearer {TOKEN}"})  # the scheme is case-insensitive


@pytest.mark.parametrize("token", [None, TOKEN])
def test_malformed_requests_to_metrics_never_give_a_server_error(app, client, monkeypatch, token):
    # /metrics is outside /api, so tests/api/test_no_server_errors.py does not walk it
    monkeypatch.setitem(app.config, "METRICS_TOKEN", token)
    headers = [{}, {"Authorization": "Bearer " + "x" * 10_000}, {"Authorization": "Bearer \u00ff\u00fe"},
               {"Authorization": "Bearer  " + TOKEN + " "}, {"Authorization": ","}, {"Accept": "\u00ff/*;q=x"}]
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        for query in ("", "?page=-1", "?name[]=%00", "?%ff=%ff"):
            for header in headers:
                response = client.open("/metrics" + query, method=method, headers=header, data="{not json",
                                       content_type="application/json")
                assert response.status_code < 500, (method, query, header, response.status_code)
                if response.status_code != 200 and method != "HEAD":
                    assert response.get_json()["error"]["code"], (method, query, header)


def test_the_openapi_document_describes_metrics(client):
    operation = client.get("/api/openapi.json").get_json()["paths"]["/metrics"]["get"]
    assert {"200", "401"} <= set(operation["responses"])


def test_metrics_can_be_turned_off(app):
    off = make_test_app(METRICS_ENABLED=False)
    client = off.test_client()
    response = client.get("/metrics")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    with off.app_context():
        db.engine.dispose()


def test_the_rate_limiter_never_refuses_a_scrape(app):
    limited = make_test_app(RATELIMIT_DEFAULT="2/minute")
    client = limited.test_client()
    try:
        statuses = [client.get("/api/").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]  # the default limit is in force...
        assert all(client.get("/metrics").status_code == 200 for _ in range(10))  # ...but not here
        samples = scrape(client)
        refused = {"method": "GET", "route": "/api/", "status": "429"}
        assert value(samples, "cineverse_http_requests_total", **refused) >= 1  # refused before the view: still counted
    finally:
        # Flask-Limiter keeps default limits on the one module-level limiter: every app would inherit them
        limiter.limit_manager.set_default_limits([])
        with limited.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("setting, raw", [
    ("METRICS_TOKEN", "short"),
    ("METRICS_TOKEN", "has a space in it 0123456789"),
    ("METRICS_ENABLED", "perhaps"),
    ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/cineverse-metrics"),
])
def test_bad_metrics_settings_refuse_to_start(monkeypatch, setting, raw):
    monkeypatch.setenv(setting, raw)
    with pytest.raises(ConfigError, match=setting):
        Config()


def test_metrics_settings_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    monkeypatch.setenv("METRICS_ENABLED", "false")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    config = Config()
    assert (config.METRICS_TOKEN, config.METRICS_ENABLED, config.PROMETHEUS_MULTIPROC_DIR) == (
        TOKEN, False, str(tmp_path))
    monkeypatch.delenv("METRICS_TOKEN")
    monkeypatch.delenv("METRICS_ENABLED")
    config = Config()
    assert config.METRICS_TOKEN is None and config.METRICS_ENABLED is True



def test_waiting_rooms_show_their_queue_admissions_and_waits(client, ctx):
    from app.models import Role

    showtime = make_showtime()
    staff = auth_headers(make_user(role=Role.ADMIN))
    assert client.put(f"/api/admin/showtimes/{showtime.id}/waiting-room", headers=staff, json={
        "enabled": True, "active_limit": 1, "sales_open_at": None, "pass_ttl_s": 600}).status_code == 200
    buyers = [auth_headers(make_user()) for _ in range(3)]
    before = scrape(client)
    for headers in buyers:
        assert client.post(f"/api/showtimes/{showtime.id}/queue", headers=headers).status_code in (200, 202)
    during = scrape(client)
    assert value(during, "cineverse_queue_waiting", showtime_id=str(showtime.id)) == 2
    assert value(during, "cineverse_queue_admitted", showtime_id=str(showtime.id)) == 1
    assert client.delete(f"/api/showtimes/{showtime.id}/queue", headers=buyers[0]).status_code == 204
    after = scrape(client)
    assert value(after, "cineverse_queue_waiting", showtime_id=str(showtime.id)) == 1
    assert delta(before, after, "cineverse_queue_admissions_total") == 2
    assert delta(before, after, "cineverse_queue_wait_seconds_count") == 2
