"""Extensions created at module level and bound to the app with `init_app`; nothing runs at import."""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

import redis
from flask import Flask
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.appctx import this_app
from app.errors import PoolExhausted, http_error_response
from app.hotpath.jwt_cache import CachingJWTManager

log = logging.getLogger(__name__)

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CineverseApi(Api):
    """flask-smorest Api whose HTTP errors keep our one error shape."""

    def handle_http_exception(self, error):  # type: ignore[no-untyped-def]
        return http_error_response(error)


class WaitingConnectionPool(redis.BlockingConnectionPool):
    """At most `max_connections` connections; a caller that finds them all busy waits up to `timeout`
    seconds for one (a gevent-friendly queue under the gevent workers) instead of failing at once, as
    redis-py's default pool does past its limit ("Too many connections"). Only a wait that runs out
    raises, as PoolExhausted: the server is full, not Redis down (503 `server_busy`, app/errors.py)."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get_connection(*args, **kwargs)
        except redis.ConnectionError as exc:
            if str(exc) == "No connection available.":  # redis-py's words for the wait that ran out
                raise PoolExhausted(f"all {self.max_connections} Redis connections busy for {self.timeout} s") from exc
            raise


def redis_pool(app: Flask, url: str, **options: Any) -> WaitingConnectionPool:
    """A bounded, waiting pool for `url`, sized by REDIS_MAX_CONNECTIONS / REDIS_POOL_TIMEOUT_S."""
    return WaitingConnectionPool.from_url(  # type: ignore[return-value]
        url, max_connections=app.config["REDIS_MAX_CONNECTIONS"], timeout=app.config["REDIS_POOL_TIMEOUT_S"],
        socket_connect_timeout=2, socket_timeout=5, health_check_interval=30, retry_on_timeout=False, **options,
    )


class RedisExtension:
    """One Redis client per app: the real server when REDIS_URL is set, else an in-process stand-in.

    fakeredis runs the same Lua scripts and pub/sub, so the embedded default keeps one code path.
    """

    def __init__(self) -> None:
        self._fake_server: Any = None

    def init_app(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        nodes = app.config.get("REDIS_CLUSTER_NODES")
        if nodes:
            from redis.cluster import ClusterNode, RedisCluster

            startup = [ClusterNode(host, int(port)) for host, _, port in
                       (node.strip().rpartition(":") for node in str(nodes).split(",") if node.strip())]
            client: Any = RedisCluster(startup_nodes=startup, decode_responses=True,
                                  max_connections=app.config["REDIS_MAX_CONNECTIONS"], socket_connect_timeout=2,
                                  socket_timeout=5)
        elif url:
            client = redis.Redis(connection_pool=redis_pool(app, url, decode_responses=True))
        else:
            import fakeredis

            if self._fake_server is None:
                self._fake_server = fakeredis.FakeServer()
            client = fakeredis.FakeRedis(server=self._fake_server, decode_responses=True)
        app.extensions["redis"] = client

    @staticmethod
    def client(app: Flask | None = None) -> redis.Redis:
        return (app or this_app()).extensions["redis"]


def get_redis() -> redis.Redis:
    """The Redis client of the current app."""
    return RedisExtension.client()


class AppLimiter(Limiter):
    """Flask-Limiter keeps one storage per Limiter, and the last init_app wins; with one module-level
    limiter and several apps in a process (tests, the embedded default) every app must keep its own
    counters. init_app records the storage on the app and the lookups read the current app's."""

    def init_app(self, app: Flask) -> None:
        # Flask-Limiter adds each app's RATELIMIT_STORAGE_OPTIONS to the ones it kept from the apps before
        # (another app's connection pool would reach this app's storage): start from this app's alone
        self._storage_options = {}
        super().init_app(app)
        if self.enabled:
            app.extensions["rate_limit_backend"] = (self._storage, self._limiter)

    def _backend(self) -> tuple[Any, Any] | None:
        from flask import current_app, has_app_context

        return current_app.extensions.get("rate_limit_backend") if has_app_context() else None

    @property
    def storage(self):  # type: ignore[no-untyped-def]
        backend = self._backend()
        return backend[0] if backend else super().storage

    @property
    def limiter(self):  # type: ignore[no-untyped-def]
        backend = self._backend()
        return backend[1] if backend else super().limiter


def config_limit(setting: str):  # type: ignore[no-untyped-def]
    """A rate limit read from the app's config on every request (so each app, and each test, has its own)."""
    from flask import current_app

    return lambda: current_app.config[setting]


def account_key() -> str:
    """A per-account rate limit's key (the verified token's user), the address when there is none."""
    from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # noqa: BLE001 - the route's own jwt_required answers a bad token
        identity = None
    return f"account:{identity}" if identity is not None else f"address:{remote_address()}"


def remote_address() -> str:
    """The client for per-IP limits: the socket's address, or the forwarded one only when
    TRUSTED_PROXY_HOPS > 0 (create_app then wraps the app in ProxyFix, which rewrites remote_addr).

    An IPv6 client is its /64 network: one subscriber gets a whole /64 (often more) and picks any address
    in it, so counting addresses would give it billions of budgets. IPv4 stays the address, and an
    IPv4-mapped IPv6 address (::ffff:a.b.c.d, from a dual-stack socket) is that IPv4 address."""
    from flask import request

    raw = request.remote_addr
    if not raw:
        return "unknown"
    try:
        address = ipaddress.ip_address(raw.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of it
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:  # db.Model is made at run time; to type checkers it is the declarative Base
    Model = Base
else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)
jwt = CachingJWTManager()  # full token check once per token, revocation every request
sock = Sock()
api = CineverseApi()
redis_ext = RedisExtension()
limiter = AppLimiter(key_func=remote_address)
