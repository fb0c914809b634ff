"""Logs (issue 16): with LOG_FORMAT=json each line is one JSON object; one line per request (the hold
lane's too) with its request id, method, route, status, duration and user; one per Celery task run;
X-Request-ID kept when well-formed, made otherwise, returned always."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.logs import configure, connect_task_signals
from tests.factories import auth_headers, make_showtime, make_user


@pytest.fixture()
def json_lines():
    """The root logger's output as JSON lines, for the test."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = root.handlers[:], root.level
    root.handlers = [handler]
    configure("INFO", "json")
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    root.handlers, level = saved
    root.setLevel(level)


def _requests(lines):
    return [line for line in lines if line["logger"] == "cineverse.requests"]


def test_one_json_line_per_request_with_its_id_route_status_and_user(client, ctx, json_lines):
    user = make_user()
    showtime = make_showtime()
    headers = auth_headers(user)
    sent = client.get("/api/movies", headers={"X-Request-ID": "edge-7f3a.1"})
    assert sent.headers["X-Request-ID"] == "edge-7f3a.1"
    made = client.get("/api/nope", headers={"X-Request-ID": "bad id; spaces"})
    assert made.status_code == 404 and len(made.headers["X-Request-ID"]) == 32  # refused, one made instead
    held = client.post(f"/api/showtimes/{showtime.id}/redis-lock-seats", json={"seat_ids": ["B5"]}, headers=headers)
    assert held.status_code == 200 and held.headers["X-Request-ID"]
    seats = client.get(f"/api/showtimes/{showtime.id}/seats", headers=headers)
    assert seats.status_code == 200 and seats.get_json()["seats"]  # a body read to its end is logged too

    for response in (sent, made, held):
        response.close()  # as a WSGI server does once it has sent the body: the line is logged then
    lines = {(line["method"], line["path"]): line for line in _requests(json_lines())}
    movies, missing = lines[("GET", "/api/movies")], lines[("GET", "/api/nope")]
    lock = lines[("POST", f"/api/showtimes/{showtime.id}/redis-lock-seats")]
    seat_map = lines[("GET", f"/api/showtimes/{showtime.id}/seats")]
    assert movies["request_id"] == "edge-7f3a.1" and movies["method"] == "GET" and movies["status"] == 200
    assert movies["route"] == "/api/movies" and movies["user_id"] is None and movies["duration_ms"] >= 0
    assert missing["request_id"] == made.headers["X-Request-ID"] and missing["status"] == 404
    assert missing["path"] == "/api/nope"
    assert lock["route"] == "/api/showtimes/<int:showtime_id>/redis-lock-seats"  # answered by the hold lane
    assert lock["user_id"] == str(user.id) and lock["status"] == 200 and lock["level"] == "INFO"
    assert seat_map["route"] == "/api/showtimes/<int:showtime_id>/seats" and seat_map["user_id"] == str(user.id)
    assert {"time", "message"} <= set(movies)


def test_one_json_line_per_task_run(app, ctx, json_lines):
    connect_task_signals()
    app.extensions["celery"].tasks["workers.accounts.purge_revoked_tokens"].apply()
    [line] = [line for line in json_lines() if line["logger"] == "cineverse.tasks"][-1:]
    assert line["task"] == "workers.accounts.purge_revoked_tokens" and line["state"] == "SUCCESS"
    assert line["task_id"] and line["runtime_ms"] >= 0


def test_a_line_break_in_the_path_cannot_forge_a_text_log_line(client, ctx):
    root = logging.getLogger()
    stream = io.StringIO()
    saved = root.handlers[:], root.level
    root.handlers = [logging.StreamHandler(stream)]
    configure("INFO", "text")
    try:
        client.get("/api/x%0aINFO forged line").close()
    finally:
        root.handlers, level = saved
        root.setLevel(level)
    lines = [line for line in stream.getvalue().splitlines() if "cineverse.requests" in line]
    assert len(lines) == 1 and "\\n" in lines[0]
    assert not any(line.startswith("INFO forged") for line in stream.getvalue().splitlines())
