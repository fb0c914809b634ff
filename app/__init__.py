"""CineVerse: create_app(config) -> extensions -> blueprints -> error handlers."""

from __future__ import annotations

import os
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from app.config import Config


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the Flask app; `config` overrides the settings read from the environment."""
    load_dotenv(override=False)
    from app import logs

    logs.configure(os.environ.get("LOG_LEVEL", "INFO"), os.environ.get("LOG_FORMAT", "text"))
    app = Flask(__name__, static_folder=None)
    if isinstance(config, Config):
        app.config.update(config.as_dict())
    else:
        app.config.update(Config().as_dict())
        app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]

    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the headers our nginx sets (deploy/nginx.conf) are trusted, from that many proxies; it passes
        # Host through and never sets X-Forwarded-Host, so a client's own copy would reach us untouched.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]

    from app import models  # noqa: F401  (registers the tables)
    from app.celery_ext import celery_init_app
    from app.extensions import api, db, jwt, migrate, redis_ext, sock

    db.init_app(app)
    from app.services import locking

    locking.init_app(app, db)  # row-lock waits end after a few seconds (503 busy), never queue for ever
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    jwt.init_app(app)
    sock.init_app(app)
    redis_ext.init_app(app)
    api.init_app(app)
    celery_init_app(app)

    from app.api import register_blueprints
    from app.errors import register_error_handlers

    register_blueprints(app)
    register_error_handlers(app)

    from app.api.security import init_auth

    init_auth(app)  # JWT callbacks (blocklist, error shape) and the rate limiter

    from app import metrics

    metrics.init_app(app)  # /metrics, and request timing once every other before-request hook exists

    from app import realtime, web

    realtime.init_app(app)
    from app.services.seats import facts

    facts.init_app(app)  # the lock's Redis copy of seat facts follows every commit that changes them
    app.register_blueprint(web.bp)

    from app.hotpath import lane as hold_lane

    hold_lane.install(app)  # plain lock/unlock requests answered in front of Flask's dispatch (issue 3)
    from app import headers

    headers.install(app)  # security headers on every response, the lane's too
    logs.install(app)  # X-Request-ID, and a log line per request (outermost)

    from app.cli import register_cli

    register_cli(app)

    import workers  # registers the Celery tasks with this app

    workers.configure_beat(app.extensions["celery"])
    if app.config.get("METRICS_ENABLED", True):
        metrics.init_celery()

    return app
