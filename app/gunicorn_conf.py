"""gunicorn settings: `gunicorn -c app/gunicorn_conf.py wsgi:app` serves the API and the seat WebSockets.

One configuration for everything: gevent workers. A flask-sock socket is then a greenlet instead of two
OS threads, so one process holds thousands of listeners, and API requests do not convoy on the GIL the
way 100 gthread threads per worker do (bench/RESULTS.md has the figures).

psycopg2 is made cooperative in each worker right after the fork (psycogreen: a wait callback that
yields to the gevent loop while a query is on the wire), never at import time of the app: the app,
the tests, Celery and `flask` commands keep plain blocking psycopg2.

Every setting can be overridden on the command line (`--bind`, `--workers`, ...) or with the
environment variables below.

Metrics (app/metrics.py): with several workers each keeps its own counters, so a scrape answered by one
worker would see a fraction of them. With `PROMETHEUS_MULTIPROC_DIR` set the workers write their values
to files there and /metrics merges them; when it is not set and more than one worker runs, a private
directory is made for this server (and removed when it stops). The directory is prepared before the
first worker forks, and each dead worker's share of the live gauges is dropped as it exits. The app is
loaded in each worker after the fork (no `--preload`), which is what lets the variable set here reach
prometheus_client before it is imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dotenv import dotenv_values

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


_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
_private_metrics_dir: str | None = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: not even a possible pid
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def prepare_metrics_dir(path: str) -> None:
    """Create the metrics directory and drop the files of processes that are gone (a previous run).

    Files of live processes stay: a Celery worker on this host may share the directory and have started
    first. A counter whose files are dropped starts again from zero, which Prometheus reads as a restart.
    """
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for file in directory.glob("*.db"):
        pid = file.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            file.unlink(missing_ok=True)


def on_starting(server):  # type: ignore[no-untyped-def]
    """Prepare the metrics directory in the master, before any worker forks."""
    global _private_metrics_dir
    # the app reads .env too (create_app), so a directory named only there must be prepared as well
    path = (os.environ.get(_MULTIPROC) or dotenv_values().get(_MULTIPROC) or "").strip()
    if not path and server.cfg.workers > 1:
        path = _private_metrics_dir = tempfile.mkdtemp(prefix="cineverse-metrics-")
        server.log.info("metrics of the %s workers are merged in %s", server.cfg.workers, path)
    if path:
        os.environ[_MULTIPROC] = path
        prepare_metrics_dir(path)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A dead worker's open WebSockets no longer count (its counters stay: they are totals)."""
    if os.environ.get(_MULTIPROC):
        from prometheus_client import multiprocess  # imported here: see the module docstring

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # type: ignore[no-untyped-def]
    if _private_metrics_dir is not None:
        shutil.rmtree(_private_metrics_dir, ignore_errors=True)
