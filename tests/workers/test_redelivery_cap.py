"""A task whose run kills its worker process is redelivered (acks_late, reject_on_worker_lost); past
TASK_MAX_DELIVERIES deliveries it is parked instead of run again: logged, listed in Redis and counted.
A real prefork worker, as in production."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from app.extensions import db
from tests.conftest import LOCK_PREFIX, make_test_app
from tests.workers.conftest import BROKER_URL, start_worker, stop_worker, wait_for
from tests.workers.crashing_tasks import runs_key

pytestmark = pytest.mark.worker

MAX_DELIVERIES = 3


@pytest.fixture(scope="module")
def sender(app, tmp_path_factory):
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    proc = start_worker(log, {"TASK_MAX_DELIVERIES": str(MAX_DELIVERIES)},
                        options=("--pool", "prefork", "--concurrency", "1",
                                 "--include", "tests.workers.crashing_tasks"))
    application = make_test_app(CELERY_EAGER=False, CELERY_BROKER_URL=BROKER_URL)
    yield application, log
    stop_worker(proc)
    with application.app_context():
        db.engine.dispose()


def _runs(redis_client, marker: str) -> int:
    return int(redis_client.get(runs_key(marker)) or 0)


def _parked(redis_client) -> list[dict]:
    """What operators see: the parked tasks, newest first."""
    return [json.loads(item) for item in redis_client.lrange(f"{LOCK_PREFIX}:celery:parked", 0, -1)]


def test_a_task_that_kills_its_worker_runs_at_most_max_deliveries_times(sender, ctx, redis_client):
    application, log = sender
    marker = uuid.uuid4().hex
    result = application.extensions["celery"].send_task("tests.workers.crashing_tasks.die", args=[marker])

    def parked_or_past_the_cap():
        return _parked(redis_client) or _runs(redis_client, marker) > MAX_DELIVERIES

    wait_for(parked_or_past_the_cap, timeout=90, what="the task to be parked (or run past the cap)")
    time.sleep(3)  # a delivery past the cap would have run by now
    assert _runs(redis_client, marker) == MAX_DELIVERIES, log.read_text(errors="replace")[-3000:]
    [parked] = _parked(redis_client)
    assert parked["task_id"] == result.id and parked["task"] == "tests.workers.crashing_tasks.die"
    assert parked["args"] == [marker] and parked["deliveries"] == MAX_DELIVERIES + 1
    assert parked["parked_at"]
    text = log.read_text(errors="replace")
    assert "ERROR" in text and f"parked task tests.workers.crashing_tasks.die[{result.id}]" in text


def test_retries_are_not_redeliveries_and_finished_tasks_leave_no_count(sender, ctx, redis_client):
    application, log = sender
    celery_app = application.extensions["celery"]
    marker, plain = uuid.uuid4().hex, uuid.uuid4().hex
    # more retries than the cap allows deliveries: each retry is a new message, counted apart
    celery_app.send_task("tests.workers.crashing_tasks.flaky", args=[marker, MAX_DELIVERIES + 2])
    celery_app.send_task("tests.workers.crashing_tasks.ok", args=[plain])
    wait_for(lambda: _runs(redis_client, marker) == MAX_DELIVERIES + 3 and _runs(redis_client, plain) == 1,
             timeout=60, what="the retried and the plain task to finish")
    wait_for(lambda: not list(redis_client.scan_iter("*celery:deliveries:*")), timeout=10,
             what="the delivery counts of finished tasks to be dropped")
    assert _parked(redis_client) == [], log.read_text(errors="replace")[-3000:]
