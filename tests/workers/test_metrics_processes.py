"""/metrics across processes: a real gunicorn with two workers and a real Celery worker share one
PROMETHEUS_MULTIPROC_DIR, and one scrape adds them all up (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from prometheus_client import multiprocess

from app import gunicorn_conf
from app.extensions import db
from tests.conftest import DATABASE_URL, REDIS_URL, make_test_app
from tests.metrics_support import parse, total
from tests.processes import gunicorn
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.worker

ROUTE = "/api/"


def _requests_by_pid(metrics_dir: Path) -> dict[int, float]:
    """HTTP requests to ROUTE counted by each process, read from that process's own file."""
    counts = {}
    for file in metrics_dir.glob("counter_*.db"):
        pid = int(file.stem.rsplit("_", 1)[-1])
        merged = multiprocess.MultiProcessCollector.merge([str(file)])
        counts[pid] = sum(sample.value for metric in merged for sample in metric.samples
                          if sample.name == "cineverse_http_requests_total" and sample.labels.get("route") == ROUTE)
    return {pid: n for pid, n in counts.items() if n}


def _scrape(port: int) -> dict:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200, response.text[:300]
    return parse(response.text)


def test_two_gunicorn_workers_and_a_celery_worker_add_up_in_one_scrape(app, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A file left by a process of an earlier run (a pid above any pid_max): gunicorn must drop it, or a
    # scrape would merge (here: choke on) it.
    stale = metrics_dir / "counter_4999999999.db"
    stale.write_bytes(b"left over")
    settings = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}

    worker = start_worker(tmp_path / "worker.log", settings)
    sender = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL)
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_EAGER": "false",
           "CELERY_BROKER_URL": BROKER_URL, "LOG_LEVEL": "WARNING", **settings}
    try:
        with gunicorn(env, "-c", "app/gunicorn_conf.py", "--workers", "2") as port:
            assert not stale.exists()
            sent = 0

            def get(_: int) -> int:
                return requests.get(f"http://127.0.0.1:{port}{ROUTE}", timeout=10).status_code

            # new connections in parallel until both workers have answered some (bounded)
            with ThreadPoolExecutor(16) as pool:
                for _ in range(100):
                    assert set(pool.map(get, range(32))) == {200}
                    sent += 32
                    if len(_requests_by_pid(metrics_dir)) >= 2:
                        break
            by_pid = _requests_by_pid(metrics_dir)
            assert len(by_pid) == 2, by_pid
            assert sum(by_pid.values()) == sent

            # whichever worker answers the scrape, it reports both workers' requests
            for _ in range(4):
                samples = _scrape(port)
                assert total(samples, "cineverse_http_requests_total", route=ROUTE) == sent
                assert total(samples, "cineverse_http_request_duration_seconds_count", route=ROUTE) == sent

            # the Celery worker, another process on this host, writes to the same directory
            sender.extensions["celery"].send_task("workers.holds.expire_holds")
            wait_for(lambda: total(_scrape(port), "cineverse_celery_tasks_finished_total",
                                   task="workers.holds.expire_holds", state="SUCCESS") >= 1,
                     what="the Celery worker's task in the web scrape")
            assert worker.pid in {int(f.stem.rsplit("_", 1)[-1]) for f in metrics_dir.glob("counter_*.db")}

            # a worker that exits leaves its counts (totals stay totals) but not its live gauge
            gone = min(by_pid)
            assert (metrics_dir / f"gauge_livesum_{gone}.db").exists()
            os.kill(gone, signal.SIGTERM)
            wait_for(lambda: not (metrics_dir / f"gauge_livesum_{gone}.db").exists(),
                     what="child_exit to mark the worker dead")
            wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200,
                     what="the replacement worker")
            assert total(_scrape(port), "cineverse_http_requests_total", route=ROUTE) == sent
    finally:
        stop_worker(worker)
        with sender.app_context():
            db.engine.dispose()


def test_gunicorn_hooks_prepare_the_directory_and_bury_dead_workers(tmp_path, monkeypatch):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    alive, dead = os.getpid(), 4999999999
    for name in (f"counter_{alive}.db", f"gauge_livesum_{alive}.db", f"counter_{dead}.db",
                 f"histogram_{dead}.db", f"gauge_livesum_{dead}.db"):
        (metrics_dir / name).write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir / "sub"))
    logs: list[str] = []
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), log=SimpleNamespace(info=lambda *a: logs.append(a[0])))

    gunicorn_conf.on_starting(server)  # a directory that does not exist yet is made
    assert (metrics_dir / "sub").is_dir()

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    gunicorn_conf.on_starting(server)
    # files of live processes (a Celery worker that started first) stay; a dead run's go
    assert sorted(p.name for p in metrics_dir.glob("*.db")) == [f"counter_{alive}.db", f"gauge_livesum_{alive}.db"]

    gunicorn_conf.child_exit(server, SimpleNamespace(pid=alive))
    assert sorted(p.name for p in metrics_dir.glob("*.db")) == [f"counter_{alive}.db"]


def test_several_workers_without_a_directory_get_a_private_one(tmp_path, monkeypatch):
    # set, then removed: monkeypatch then removes what on_starting sets in os.environ after the test
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setattr(gunicorn_conf, "dotenv_values", lambda: {})  # whatever .env this checkout has
    server = SimpleNamespace(cfg=SimpleNamespace(workers=1), log=SimpleNamespace(info=lambda *a: None))
    gunicorn_conf.on_starting(server)
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # one worker: the plain registry is right

    server.cfg.workers = 3
    gunicorn_conf.on_starting(server)
    private = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert private.is_dir()
    gunicorn_conf.on_exit(server)
    assert not private.exists()
    monkeypatch.setattr(gunicorn_conf, "_private_metrics_dir", None)
