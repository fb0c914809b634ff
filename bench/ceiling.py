"""The ceiling: a separate minimal Flask app, served like the real one, that every scenario measures in the same run.

`gunicorn -c app/gunicorn_conf.py --workers 2 bench.ceiling:app` (gevent, the deployed configuration).
It is a plain `Flask(__name__)`, not create_app: no extensions, no request hooks, no blueprints, so it
is what Flask + gunicorn + gevent cost on this machine and nothing else.

    GET /ok          {"ok": true}: the bare endpoint
    GET /evalsha     one EVALSHA of a trivial script (INCR of one bench key) against BENCH_REDIS_URL,
                     then {"ok": true}: the floor of any route that makes one Redis round trip
    GET /api/health  {"ok": true}, so tests/processes.gunicorn sees it started

The Redis client has the options app/extensions.py gives the app's (a blocking pool of
REDIS_MAX_CONNECTIONS connections that waits up to REDIS_POOL_TIMEOUT_S for one, decode_responses,
the same socket timeouts; hiredis parses when installed), without importing the app. The script is
loaded on first use (redis-py's Script: EVALSHA, SCRIPT LOAD once on NOSCRIPT), so every request after
the first is exactly one EVALSHA round trip.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response

REDIS_URL = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
KEY = "bench:ceiling:evalsha"
BODY = '{"ok":true}'

app = Flask(__name__)

_pool = redis.BlockingConnectionPool.from_url(
    REDIS_URL, max_connections=int(os.environ.get("REDIS_MAX_CONNECTIONS", "64")),
    timeout=int(os.environ.get("REDIS_POOL_TIMEOUT_S", "5")), socket_connect_timeout=2, socket_timeout=5,
    health_check_interval=30, retry_on_timeout=False, decode_responses=True,
)
_client = redis.Redis(connection_pool=_pool)
_incr = _client.register_script("return redis.call('INCR', KEYS[1])")


@app.get("/ok")
def ok() -> Response:
    return Response(BODY, mimetype="application/json")


@app.get("/evalsha")
def evalsha() -> Response:
    _incr(keys=[KEY])
    return Response(BODY, mimetype="application/json")


@app.get("/api/health")
def health() -> Response:
    return Response(BODY, mimetype="application/json")
