"""Test fixtures: the machine's real PostgreSQL and Redis, each test isolated.

TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/cineverse_test) is recreated from the
migrations once per run; tables are truncated and the Redis database flushed after every test.
TEST_REDIS_URL defaults to redis://127.0.0.1:6379/15. A missing service fails the run; it never skips.

`pytest --on-cluster` runs the chosen tests with the lock store on a Redis Cluster instead (a cluster of its
own on loopback, tests/cluster_support.py, started for the run and stopped after it): `make test` runs the
hold, seat-map, WebSocket and purchase tests that way as well. The broker stays on the single Redis.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis
import sqlalchemy as sa
from celery._state import _set_task_join_will_block
from flask import Flask
from flask.testing import FlaskClient
from redis.cluster import RedisCluster

from app import create_app
from app.config import TestConfig
from app.extensions import db

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cineverse_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Redis pub/sub channels are global to the server, not per database: each run gets its own key and
# channel prefix, inherited by the servers and workers the tests start, so concurrent runs never mix.
LOCK_PREFIX = os.environ.setdefault("SEAT_LOCK_PREFIX", f"cvtest{os.getpid()}")


def _recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = url.replace(parts.path, "/postgres", 1).replace("postgresql://", "postgresql+psycopg2://", 1)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
        ), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


_ON_CLUSTER: dict[str, object] = {}  # the run's cluster, with --on-cluster


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--on-cluster", action="store_true",
                     help="run the tests with the lock store on a Redis Cluster started for the run")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--on-cluster"):
        from tests.cluster_support import LocalCluster

        cluster = LocalCluster()
        cluster.start()
        _ON_CLUSTER["cluster"] = cluster
        _ON_CLUSTER["nodes"] = os.environ["REDIS_CLUSTER_NODES"] = cluster.nodes_setting  # servers it starts too


def pytest_unconfigure(config: pytest.Config) -> None:
    cluster = _ON_CLUSTER.pop("cluster", None)
    if cluster is not None:
        os.environ.pop("REDIS_CLUSTER_NODES", None)
        cluster.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"lock store: Redis Cluster {_ON_CLUSTER['nodes']}" if _ON_CLUSTER else None


def make_test_app(**overrides: object) -> Flask:
    settings: dict[str, object] = {"SQLALCHEMY_DATABASE_URI": DATABASE_URL.replace(
        "postgresql://", "postgresql+psycopg2://", 1), "REDIS_URL": REDIS_URL, "CELERY_EAGER": True,
        "EMBEDDED_DB": False, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 20}}
    if _ON_CLUSTER:
        settings["REDIS_CLUSTER_NODES"] = _ON_CLUSTER["nodes"]
    settings.update(overrides)
    return create_app(TestConfig(**settings))


def single_redis_app(**overrides: object) -> Flask:
    """An app on one Redis server whatever the run: the tests of that server being down, or reached through
    a proxy that drops it, are about the single-server path (the cluster's faults are tests/cluster's)."""
    return make_test_app(REDIS_CLUSTER_NODES=None, **overrides)


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    _recreate_database(DATABASE_URL)
    application = make_test_app()
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()  # the schema comes from the migrations, as in production
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Truncate every table and flush Redis after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        for attempt in range(3):  # a worker process still finishing a task may deadlock one TRUNCATE
            try:
                with db.engine.begin() as conn:
                    conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                break
            except sa.exc.OperationalError:
                if attempt == 2:
                    raise
        flush_lock_store(application.extensions["redis"])


def flush_lock_store(client: redis.Redis) -> None:
    if isinstance(client, RedisCluster):
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        client.flushdb()


@pytest.fixture(autouse=True)
def _reset_celery_join_flag() -> Iterator[None]:
    """Eager tasks run from two threads at once can leave Celery's process-global "join would block"
    flag set (denied_join_result saves and restores it without a lock); app code never joins a task,
    but tests read eager results."""
    yield
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only: a stray call to a real gateway or mail server fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple):
            host = str(address[0])
            if host not in {"127.0.0.1", "::1", "localhost"} and not host.startswith("127."):
                raise RuntimeError(f"test tried to reach {address!r}; only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture()
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for service-level tests."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def redis_client(app: Flask) -> redis.Redis:
    return app.extensions["redis"]
