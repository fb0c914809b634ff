"""A real Celery worker process for the tests that are about workers.

The worker runs `celery -A celery_app worker` against the test database and Redis, with its broker on
a separate Redis database (TEST_BROKER_URL, default db 14) so that flushing the lock store between
tests never drops the broker's queues.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.services.tasks import ALL_QUEUES
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


def start_worker(log_path: Path, settings: dict[str, str],
                 options: tuple[str, ...] = ("--pool", "threads", "--concurrency", "4")) -> subprocess.Popen[bytes]:
    """`celery -A celery_app worker` with `options` (the pool; extra task modules with --include), consuming
    every queue unless the options name some (-Q)."""
    if "-Q" not in options:
        options = (*options, "-Q", ALL_QUEUES)
    redis.Redis.from_url(BROKER_URL).flushdb()
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_BROKER_URL": BROKER_URL,
           "CINEVERSE_ENV": "test", "LOG_LEVEL": "INFO", **settings}
    env.pop("CELERY_EAGER", None)
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", *options, "--loglevel", "INFO",
         "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if b" ready." in log_path.read_bytes():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the Celery worker did not start:\n" + log_path.read_text(errors="replace")[-4000:])


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout=20)


@pytest.fixture(scope="module")
def worker_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker") / "worker.log"


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll predicate until it returns something truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


__all__ = ["BROKER_URL", "Iterator", "start_worker", "stop_worker", "wait_for"]
