"""Celery bound to Flask: each task call runs in a fresh app context (the Flask docs' FlaskTask), every
delivery of an acked-late task is counted so that one that kills its worker is parked instead of
redelivered for ever, and periodic tasks that must not overlap take one lock (`single_instance`)."""

from __future__ import annotations

import functools
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import redis
from celery import Celery, Task
from flask import Flask, current_app

from app import metrics
from app.extensions import get_redis
from app.services import tasks

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


# A delivery count outlives any redelivery (the broker's visibility timeout is an hour); parked tasks
# kept for operators, newest first.
_DELIVERY_COUNT_TTL_S = 86_400
_PARKED_KEPT = 1000


def _celery_prefix() -> str:
    return f"{current_app.config['SEAT_LOCK_PREFIX']}:celery"


def parked_tasks_key() -> str:
    """The Redis list of parked tasks (JSON objects, newest first): `LRANGE <key> 0 -1` lists them."""
    return f"{_celery_prefix()}:parked"


def _count_delivery(task: Task) -> tuple[str, int] | None:
    """Count this delivery of the running task's message in Redis: (key, deliveries so far), or None
    when it cannot be counted (run eagerly or directly, or Redis down: the task then runs uncounted).
    A retry is a new message with the same task id, so the key carries the retry number."""
    request = task.request
    if request.called_directly or request.is_eager or not request.id:
        return None
    key = f"{_celery_prefix()}:deliveries:{request.id}:{int(request.retries or 0)}"
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, _DELIVERY_COUNT_TTL_S)
        return key, int(pipe.execute()[0])
    except redis.exceptions.RedisError as exc:
        log.warning("task %s[%s]: delivery not counted (Redis): %s", task.name, request.id, exc)
        return None


def _park(task: Task, deliveries: int, args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    """Record a task that will not be run again: an error in the log, an entry in the parked list, and
    the parked-tasks metric."""
    request = task.request
    log.error("parked task %s[%s] after %s deliveries (each ended its worker; not run again): args=%r kwargs=%r",
              task.name, request.id, deliveries, args, kwargs)
    entry = json.dumps({"task_id": request.id, "task": task.name, "args": list(args), "kwargs": kwargs,
                        "retries": int(request.retries or 0), "deliveries": deliveries,
                        "parked_at": datetime.now(timezone.utc).isoformat()}, default=str)
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.lpush(parked_tasks_key(), entry)
        pipe.ltrim(parked_tasks_key(), 0, _PARKED_KEPT - 1)
        pipe.execute()
    except redis.exceptions.RedisError:
        log.exception("parked task %s[%s] could not be listed in Redis", task.name, request.id)
    metrics.CELERY_TASKS_PARKED.labels(task.name).inc()


def celery_init_app(app: Flask) -> Celery:
    """Bind a Celery app to Flask: each task call runs in a fresh app context (the Flask docs' FlaskTask).

    Tasks are acked late and rejected back to the queue when their worker process dies, so a task whose
    run kills the process (out of memory, a crash in a C extension) would come back for ever: each
    delivery is counted per task id, and past TASK_MAX_DELIVERIES the task is parked instead of run."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                counted = _count_delivery(self)
                if counted is None:
                    return self.run(*args, **kwargs)
                key, deliveries = counted
                if deliveries > int(app.config["TASK_MAX_DELIVERIES"]):
                    _park(self, deliveries, args, kwargs)
                    return None
                try:
                    return self.run(*args, **kwargs)
                finally:
                    # the run ended (returned, raised or retried) and its message is acked: forget it
                    try:
                        get_redis().delete(key)
                    except redis.exceptions.RedisError:
                        pass  # the count expires by itself

    eager = bool(app.config.get("CELERY_EAGER"))
    broker = app.config.get("CELERY_BROKER_URL") or app.config.get("REDIS_URL") or "memory://"
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(
        {
            "broker_url": broker,
            "result_backend": None if eager else broker,
            "task_ignore_result": True,
            "task_always_eager": eager,
            "task_eager_propagates": False,
            "task_serializer": "json",
            "accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "task_routes": tasks.TASK_ROUTES,  # queues by urgency (app.services.tasks.QUEUES)
            "task_default_queue": "celery",
            "broker_connection_retry_on_startup": True,
            "timezone": "UTC",
        }
    )
    celery_app.set_default()
    from app.logs import connect_task_signals

    connect_task_signals()  # a log line per task run
    app.extensions["celery"] = celery_app
    return celery_app


def single_instance_key(name: str) -> str:
    """The Redis key of a single_instance task's lock."""
    return f"{_celery_prefix()}:single:{name}"


def single_instance(name: str, ms: int, skipped: Any = None) -> Callable[[F], F]:
    """A periodic task body that runs once at a time across workers (indico's locked_task): a run that
    finds the lock taken answers `skipped` at once. The lock expires after `ms`, so a killed run never
    blocks the schedule for long, and only the run that took it releases it (compare-and-delete)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            client, key, token = get_redis(), single_instance_key(name), secrets.token_hex(16)
            if not client.set(key, token, nx=True, px=ms):
                log.info("%s skipped: another run holds its lock", name)
                return skipped
            try:
                return fn(*args, **kwargs)
            finally:
                try:
                    client.eval(_UNLOCK, 1, key, token)
                except redis.exceptions.RedisError:
                    pass  # it expires by itself

        return run  # type: ignore[return-value]

    return decorate


# Compare-and-delete: only the run that took the lock may drop it.
_UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
