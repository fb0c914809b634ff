"""/api/health reports the background side (issue 16): the Celery workers that answer a ping and how long
since beat last ran; `degraded` once the worker is gone, never a 503 while the database answers."""

from __future__ import annotations

import pytest

from tests.conftest import make_test_app
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for


@pytest.mark.worker
def test_health_shows_the_worker_and_beat_then_degraded_without_them(app, tmp_path):
    web = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL, HEALTH_CACHE_S=0)
    client = web.test_client()
    before = client.get("/api/health")
    assert before.status_code == 200
    assert before.get_json()["status"] == "degraded" and before.get_json()["workers"]["online"] == 0
    worker = start_worker(tmp_path / "worker.log", {},
                          ("--pool", "threads", "--concurrency", "2", "-B", "-s", str(tmp_path / "beat-schedule")))
    try:
        def healthy():
            body = client.get("/api/health").get_json()
            return body if body["status"] == "ok" else None

        body = wait_for(healthy, timeout=45, what="the worker and beat to show in /api/health")
        assert body["database"] == "ok" and body["redis"] == "ok"
        assert body["workers"]["mode"] == "celery" and body["workers"]["online"] == 1
        assert 0 <= body["workers"]["beat_last_run_s"] <= 60
    finally:
        stop_worker(worker)
    after = client.get("/api/health")
    assert after.status_code == 200  # the database answers: degraded, not down
    assert after.get_json()["status"] == "degraded" and after.get_json()["workers"]["online"] == 0
