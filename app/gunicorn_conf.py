"""gunicorn settings: `gunicorn -c app/gunicorn_conf.py wsgi:app` serves the API and the seat WebSockets.

One configuration for everything: gevent workers. A flask-sock socket is then a greenlet instead of two
OS threads, so one process holds thousands of listeners, and API requests do not convoy on the GIL the
way 100 gthread threads per worker do (bench/RESULTS.md has the figures).

psycopg2 is made cooperative in each worker right after the fork (psycogreen: a wait callback that
yields to the gevent loop while a query is on the wire), never at import time of the app: the app,
the tests, Celery and `flask` commands keep plain blocking psycopg2.

Every setting can be overridden on the command line (`--bind`, `--workers`, ...) or with the
environment variables below.
"""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
# One worker per core; the embedded default (SQLite + in-process Redis stand-in) must run one process,
# which `make run` passes as --workers 1.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
# Open connections (HTTP keep-alive and WebSockets) per worker.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "4000"))
timeout = 120
graceful_timeout = 30
keepalive = 5


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    """Make psycopg2 yield to the gevent loop while it waits for PostgreSQL (gevent workers only)."""
    if "gevent" not in type(worker).__module__:
        return
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:  # pragma: no cover - psycogreen is pinned in requirements.txt
        server.log.warning("psycogreen is not installed; database calls will block the gevent loop")
        return
    patch_psycopg()
