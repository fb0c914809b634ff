"""The waiting room's beat task in a real Celery worker (with its embedded beat): a pass that expired
frees its place and the next in line is admitted without anybody asking."""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.models import Role
from app.services.seats.keys import room_index_key, room_key
from tests.conftest import make_test_app
from tests.factories import auth_headers, make_showtime, make_user
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.worker


def test_an_expired_pass_admits_the_next_through_the_beat_task(app, tmp_path):
    proc = start_worker(tmp_path / "worker.log", {}, options=(
        "--pool", "threads", "--concurrency", "2", "--beat", "--schedule", str(tmp_path / "beat-schedule")))
    shop = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL)
    try:
        with shop.app_context():
            client = shop.test_client()
            showtime = make_showtime()
            staff, first, second = make_user(role=Role.ADMIN), make_user(), make_user()
            assert client.put(f"/api/admin/showtimes/{showtime.id}/waiting-room", headers=auth_headers(staff), json={
                "enabled": True, "active_limit": 1, "sales_open_at": None, "pass_ttl_s": 600}).status_code == 200
            assert client.post(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(first)).status_code == 200
            assert client.post(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second)).status_code == 202
            # the first buyer's ten minutes pass
            redis_client = shop.extensions["redis"]
            past = int(time.time() * 1000) - 1000
            redis_client.zadd(room_key(showtime.id, "active"), {str(first.id): past})
            redis_client.zadd(room_index_key(), {str(showtime.id): past})
            # nobody asks (any visit would run the admission itself): only the worker's beat can admit
            wait_for(lambda: redis_client.zscore(room_key(showtime.id, "active"), str(second.id)) is not None,
                     timeout=30, what="the beat task to admit the next buyer")
            assert redis_client.zscore(room_key(showtime.id, "active"), str(first.id)) is None
            assert client.get(f"/api/showtimes/{showtime.id}/queue", headers=auth_headers(second)).status_code == 200
            db.session.remove()
    finally:
        stop_worker(proc)
        with shop.app_context():
            db.engine.dispose()
