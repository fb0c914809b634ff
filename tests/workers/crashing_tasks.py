"""Tasks only the redelivery tests load into their worker (celery worker --include): one that kills the
process running it, one that retries, one that just returns. Each counts its runs in the app's Redis."""

from __future__ import annotations

import os

from celery import shared_task

from app.extensions import get_redis


def runs_key(marker: str) -> str:
    return f"test-task-runs:{marker}"


@shared_task(name="tests.workers.crashing_tasks.die", acks_late=True)
def die(marker: str) -> None:
    get_redis().incr(runs_key(marker))
    os._exit(1)  # as an out-of-memory kill or a segfault in a C extension would end it


@shared_task(bind=True, name="tests.workers.crashing_tasks.flaky", acks_late=True, max_retries=10)
def flaky(self, marker: str, failures: int) -> int:  # type: ignore[no-untyped-def]
    runs = int(get_redis().incr(runs_key(marker)))
    if runs <= failures:
        raise self.retry(countdown=0)
    return runs


@shared_task(name="tests.workers.crashing_tasks.ok", acks_late=True)
def ok(marker: str) -> None:
    get_redis().incr(runs_key(marker))
