"""Shared set-up for the benchmarks: a fresh database and Redis, seed data, gunicorn on a free port."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from tests.processes import gunicorn as test_gunicorn

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cineverse_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SECRETS = {"SECRET_KEY": "bench-secret-" + "s" * 40, "JWT_SECRET_KEY": "bench-jwt-secret-" + "j" * 40}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def server_env() -> dict[str, str]:
    return {**os.environ, **SECRETS, "DATABASE_URL": BENCH_DATABASE_URL, "REDIS_URL": BENCH_REDIS_URL,
            "CELERY_EAGER": "false", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "CINEVERSE_ENV": "development"}


def prepare(users: int = 64) -> dict:
    """Recreate the bench database from the migrations, flush the bench Redis db, seed one showtime and
    `users` users; returns their ids and bearer tokens."""
    os.environ.update(server_env())
    parts = urlsplit(BENCH_DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = sa.create_engine(BENCH_DATABASE_URL.replace(parts.path, "/postgres", 1)
                             .replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                             "AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    from flask_jwt_extended import create_access_token
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import Movie, Screen, Theatre, User
    from app.services.catalogue import schedule_showtime
    from app.services.layouts import default_layout

    app = create_app()
    with app.app_context():
        upgrade()
        app.extensions["redis"].flushdb()
        movie = Movie(title="Bench", genre="Drama", language="Hindi", duration_min=120)
        theatre = Theatre(name="Bench Theatre", city="Bengaluru")
        screen = Screen(theatre=theatre, name="Screen 1", layout=default_layout())
        db.session.add_all([movie, theatre, screen])
        db.session.flush()
        showtime = schedule_showtime(movie, screen, datetime.now(timezone.utc) + timedelta(days=1))
        people = [User(email=f"bench{n}@example.com", name=f"Bench {n}", password_hash="x") for n in range(users)]
        db.session.add_all(people)
        db.session.commit()
        result = {"app": app, "showtime_id": showtime.id, "user_ids": [str(u.id) for u in people],
                  "tokens": [create_access_token(identity=str(u.id), expires_delta=timedelta(hours=2))
                             for u in people]}
        db.session.remove()
    return result


@contextmanager
def gunicorn(app_path: str, *args: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """gunicorn serving app_path on a free loopback port with the bench settings (and `env` on top);
    yields the port (tests/processes.py starts and stops it, as for the tests)."""
    with test_gunicorn({**server_env(), **(env or {})}, *args, app_path=app_path, start_timeout=60) as port:
        yield port


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Inside, print() writes to stderr: tests/processes.gunicorn prints a server's traceback on stdout
    when it stops, which would land in the middle of a driver's JSON document."""
    with redirect_stdout(sys.stderr):
        yield


@contextmanager
def on_cluster(enabled: bool) -> Iterator[str | None]:
    """With `enabled`, a 3+3 Redis Cluster on free loopback ports (tests/cluster_support.py) for the run:
    REDIS_CLUSTER_NODES is set for the bench process and every server it starts, and the cluster is
    stopped (by pid) afterwards. Yields the nodes setting, None without a cluster."""
    if not enabled:
        yield None
        return
    from tests.cluster_support import LocalCluster

    local = LocalCluster()
    local.start()
    os.environ["REDIS_CLUSTER_NODES"] = local.nodes_setting
    try:
        yield local.nodes_setting
    finally:
        os.environ.pop("REDIS_CLUSTER_NODES", None)
        local.stop()
