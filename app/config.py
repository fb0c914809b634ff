"""Settings read from the environment (a `.env` is read when present).

With no settings the app runs on the embedded default: SQLite in a file, an in-process Redis
stand-in and Celery tasks executed in-process. Missing secrets get a generated development value
with a warning there, and refuse to start in production mode (`CINEVERSE_ENV=production`).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the app refuses to start."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum or (maximum is not None and value > maximum):
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false), got {raw!r}")


def _rate(name: str, default: str) -> str:
    """A Flask-Limiter limit string ("5/minute;30/hour"), checked at startup."""
    from limits import parse_many

    raw = _env(name, default) or default
    try:
        parse_many(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a rate limit like '5/minute;30/hour', got {raw!r}") from exc
    return raw


def _policy(raw: str) -> list[tuple[int, int]]:
    """Parse "hours:percent,..." into [(hours, percent)], most generous first."""
    tiers = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        hours, _, percent = part.partition(":")
        try:
            tier = (int(hours), int(percent))
        except ValueError as exc:
            raise ConfigError(f"CANCELLATION_POLICY tier {part!r} is not hours:percent") from exc
        if tier[0] < 0 or not 0 <= tier[1] <= 100:
            raise ConfigError(f"CANCELLATION_POLICY tier {part!r} is out of range")
        tiers.append(tier)
    return sorted(tiers, reverse=True)


GENERATE_SECRET_HINT = 'make one with: python3 -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105 (how to make one, not one)
# 32 random bytes are 43 characters of token_urlsafe or 64 of hex; no secret that short is accepted.
MIN_SECRET_CHARS = 43
# Words that only placeholders contain (.env.example, tutorials, our own tests); a generated secret never does.
_PLACEHOLDER_WORDS = ("change", "secret", "example", "placeholder", "password", "default", "xxxx", "test")


def _require_strong_secret(name: str, value: str) -> None:
    """Refuse a signing key that can be guessed: anyone holding it mints superadmin tokens (HS256) or forges
    check-in codes. Randomness cannot be measured from one value; length, variety and the absence of
    placeholder words are what a generated secret always has and a hand-typed one rarely does."""
    lowered = value.lower()
    if (len(value) < MIN_SECRET_CHARS or len(set(value)) < 12
            or any(word in lowered for word in _PLACEHOLDER_WORDS)):
        raise ConfigError(
            f"{name} is too weak for production: it needs at least 32 random bytes "
            f"({MIN_SECRET_CHARS}+ characters, no placeholder text); {GENERATE_SECRET_HINT}")


# The public key id the dev gateway answers with when RAZORPAY_KEY_ID is unset.
DEV_GATEWAY_KEY_ID = "rzp_test_cineverse_dev"


def checkout_key_id(config: Mapping[str, Any]) -> str:
    """The public key id a browser opens Checkout with: RAZORPAY_KEY_ID, or the dev gateway's own."""
    return str(config.get("RAZORPAY_KEY_ID") or DEV_GATEWAY_KEY_ID)


def _metrics_token() -> str | None:
    """METRICS_TOKEN: unset, or a secret long enough not to be guessed, sendable in a header."""
    token = _env("METRICS_TOKEN")
    if token is None:
        return None
    if len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token:
        raise ConfigError("METRICS_TOKEN must be at least 16 printable ASCII characters without spaces")
    return token


def _database_url() -> str:
    url = _env("DATABASE_URL")
    if url is None:
        instance = BASE_DIR / "instance"
        instance.mkdir(exist_ok=True)
        return f"sqlite:///{instance / 'cineverse.db'}"
    # Heroku-style URLs still say postgres://, which SQLAlchemy 2 no longer accepts.
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the project ships psycopg2.
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            url = "postgresql+psycopg2://" + url[len(scheme) :]
    return url


class Config:
    """Settings for a running deployment, read once at app creation."""

    TESTING = False

    def __init__(self) -> None:
        self.ENV_NAME = (_env("CINEVERSE_ENV", "development") or "development").lower()
        if self.ENV_NAME not in {"development", "production", "test"}:
            raise ConfigError("CINEVERSE_ENV must be development, production or test")
        self.PRODUCTION = self.ENV_NAME == "production"

        self.SQLALCHEMY_DATABASE_URI = _database_url()
        self.EMBEDDED_DB = self.SQLALCHEMY_DATABASE_URI.startswith("sqlite")
        # No pool_pre_ping (a SELECT 1 per checkout): connections are recycled after 30 min, and a
        # connection found dead fails its one request while SQLAlchemy invalidates the whole pool.
        # Pools wait instead of failing (README, "Sizing the pools"): a request that finds every connection
        # busy queues for up to the pool timeout, and only then gets 503 `server_busy` with Retry-After.
        # Per process: DB_POOL_SIZE + DB_MAX_OVERFLOW PostgreSQL connections, REDIS_MAX_CONNECTIONS Redis ones.
        self.DB_POOL_SIZE = _int("DB_POOL_SIZE", 10, 1, 500)
        self.DB_MAX_OVERFLOW = _int("DB_MAX_OVERFLOW", 10, 0, 500)
        self.DB_POOL_TIMEOUT_S = _int("DB_POOL_TIMEOUT_S", 10, 1, 120)
        self.SQLALCHEMY_ENGINE_OPTIONS = (
            {} if self.EMBEDDED_DB else {"pool_recycle": 1800, "pool_size": self.DB_POOL_SIZE,
                                         "max_overflow": self.DB_MAX_OVERFLOW, "pool_timeout": self.DB_POOL_TIMEOUT_S}
        )
        self.REDIS_URL = _env("REDIS_URL")  # None -> in-process stand-in (fakeredis)
        # "host:port,host:port": the lock store, seat events, queue and rate limits on a Redis Cluster;
        # REDIS_URL (or CELERY_BROKER_URL) stays the Celery broker's single Redis
        self.REDIS_CLUSTER_NODES = _env("REDIS_CLUSTER_NODES")
        self.REDIS_MAX_CONNECTIONS = _int("REDIS_MAX_CONNECTIONS", 64, 2, 10_000)
        self.REDIS_POOL_TIMEOUT_S = _int("REDIS_POOL_TIMEOUT_S", 5, 1, 120)
        self.CELERY_EAGER = self.REDIS_URL is None or _bool("CELERY_EAGER", False)
        # The broker defaults to REDIS_URL; a separate database keeps queues apart from locks.
        self.CELERY_BROKER_URL = _env("CELERY_BROKER_URL", self.REDIS_URL)
        # Deliveries of one Celery task message before it is parked instead of run (app.extensions): a
        # task whose run kills its worker process is redelivered, and would be for ever.
        self.TASK_MAX_DELIVERIES = _int("TASK_MAX_DELIVERIES", 3, 1, 100)
        if self.PRODUCTION and (self.EMBEDDED_DB or self.REDIS_URL is None):
            raise ConfigError("production mode needs DATABASE_URL and REDIS_URL")

        self.SECRET_KEY = self._secret("SECRET_KEY")
        self.JWT_SECRET_KEY = self._secret("JWT_SECRET_KEY")
        if self.PRODUCTION and self.SECRET_KEY == self.JWT_SECRET_KEY:
            raise ConfigError("SECRET_KEY and JWT_SECRET_KEY must be different secrets")
        self.JWT_ALGORITHM = "HS256"
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(seconds=_int("JWT_ACCESS_TTL_S", 900, 30))
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(seconds=_int("JWT_REFRESH_TTL_S", 7 * 86400, 60))
        # a rotated refresh token used again after this many seconds ends its whole session (theft);
        # within it, it is only refused (two tabs refreshing at once)
        self.REFRESH_REUSE_GRACE_S = _int("REFRESH_REUSE_GRACE_S", 10, 0, 300)

        self.SEAT_LOCK_TTL_MS = _int("SEAT_LOCK_TTL_MS", 180_000, 1_000, 3_600_000)
        self.SEAT_LOCK_PREFIX = _env("SEAT_LOCK_PREFIX", "cineverse") or "cineverse"
        self.MAX_SEATS_PER_BOOKING = _int("MAX_SEATS_PER_BOOKING", 10, 1, 50)
        # How long the lock path trusts its Redis copy of a showtime's seat facts at most (app.services.seats.facts).
        self.SEAT_CACHE_TTL_S = _int("SEAT_CACHE_TTL_S", 30, 1, 3600)
        # Until this long before the show a companion seat is sold only with the wheelchair space beside it;
        # then companion seats and wheelchair spaces are sold to anyone (app.services.seats.adjacency).
        self.COMPANION_RELEASE_BEFORE_S = _int("COMPANION_RELEASE_BEFORE_S", 1800, 0, 30 * 86400)
        # How often a user may renew a showtime's holds before having to release and lock again.
        self.HOLD_MAX_RENEWALS = _int("HOLD_MAX_RENEWALS", 3, 0, 100)
        # Seconds between keep-alive pings on an idle seat WebSocket (proxies drop silent connections).
        self.WS_HEARTBEAT_S = _int("WS_HEARTBEAT_S", 25, 5, 300)
        # A seat socket whose client stops reading is dropped once one write has waited this long.
        self.WS_SEND_TIMEOUT_S = _int("WS_SEND_TIMEOUT_S", 10, 1, 120)
        # Seat sockets open at once per client address, across all web processes (Redis); 0 = no limit.
        self.WS_MAX_PER_IP = _int("WS_MAX_PER_IP", 50, 0, 100_000)
        # Plain lock/unlock requests are answered in front of Flask's dispatch (app/hotpath/lane.py);
        # false sends every request through the views (same answers, slower).
        self.HOLD_LANE_ENABLED = _bool("HOLD_LANE_ENABLED", True)

        # Production takes real money only: the dev gateway signs any checkout for free, so it is refused
        # there (and its checkout route is never registered, app/api/__init__.py).
        default_gateway = "razorpay" if self.PRODUCTION else "dev"
        self.PAYMENT_GATEWAY = (_env("PAYMENT_GATEWAY", default_gateway) or default_gateway).lower()
        if self.PAYMENT_GATEWAY not in {"dev", "razorpay"}:
            raise ConfigError("PAYMENT_GATEWAY must be 'dev' or 'razorpay'")
        if self.PRODUCTION and self.PAYMENT_GATEWAY != "razorpay":
            raise ConfigError("production mode needs PAYMENT_GATEWAY=razorpay (the dev gateway gives tickets away)")
        self.RAZORPAY_KEY_ID = _env("RAZORPAY_KEY_ID")
        self.RAZORPAY_KEY_SECRET = _env("RAZORPAY_KEY_SECRET")
        self.PAYMENTS_WEBHOOK_SECRET = _env("PAYMENTS_WEBHOOK_SECRET")
        if self.PAYMENT_GATEWAY == "razorpay" and not (self.RAZORPAY_KEY_ID and self.RAZORPAY_KEY_SECRET):
            raise ConfigError("PAYMENT_GATEWAY=razorpay needs RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET")
        if self.PRODUCTION and not self.PAYMENTS_WEBHOOK_SECRET:
            raise ConfigError("production mode needs PAYMENTS_WEBHOOK_SECRET (payments are confirmed by webhooks)")

        # How long a created order waits for its payment; the seat holds are extended to cover it.
        self.ORDER_PAYMENT_WINDOW_S = _int("ORDER_PAYMENT_WINDOW_S", 600, 60, 3600)
        # However often a user renews, re-locks or orders a seat, their holds on it end this long after its
        # first lock (app.services.seats.holds); never less than a full hold plus a payment window, so a buyer who
        # orders within the first hold gets the whole window.
        hold_floor_s = -(-self.SEAT_LOCK_TTL_MS // 1000) + self.ORDER_PAYMENT_WINDOW_S
        self.HOLD_MAX_LIFETIME_S = _int("HOLD_MAX_LIFETIME_S", max(900, hold_floor_s), hold_floor_s, 4 * 3600)
        # After that deadline the same user may not hold that seat again for this long (anyone else may at
        # once); long enough for other buyers to see the seat free and take it.
        self.HOLD_RELOCK_COOLDOWN_S = _int("HOLD_RELOCK_COOLDOWN_S", 300, 30, 3600)
        # Seats one user may hold at once across all showtimes (MAX_SEATS_PER_BOOKING caps each showtime).
        self.HOLD_MAX_SEATS_PER_USER = _int("HOLD_MAX_SEATS_PER_USER", 2 * self.MAX_SEATS_PER_BOOKING,
                                            self.MAX_SEATS_PER_BOOKING, 500)
        # Refund by hours before the show: "24:100,2:50" = full refund up to 24 h before, half up to 2 h.
        self.CANCELLATION_POLICY = _policy(_env("CANCELLATION_POLICY", "24:100,2:50") or "")
        # Seats that come free are held this long for the first waiting user whose count fits
        # (app.services.offers; at most HOLD_MAX_LIFETIME_S), then pass to the next in line.
        self.WAITLIST_OFFER_S = _int("WAITLIST_OFFER_S", 600, 60, 4 * 3600)
        # /api/health pings the Celery workers at most once per HEALTH_CACHE_S per process, waiting
        # HEALTH_PING_TIMEOUT_MS for their answers (app.services.health).
        self.HEALTH_CACHE_S = _int("HEALTH_CACHE_S", 5, 1, 300)
        # The reminder mail goes out this long before the show (app.services.booking_mail).
        self.REMINDER_BEFORE_S = _int("REMINDER_BEFORE_S", 10800, 600, 7 * 86400)
        self.HEALTH_PING_TIMEOUT_MS = _int("HEALTH_PING_TIMEOUT_MS", 500, 50, 5000)

        self.PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL", "http://127.0.0.1:8001") or "").rstrip("/")
        self.FRONTEND_ORIGIN = _env("FRONTEND_ORIGIN", self.PUBLIC_BASE_URL)
        self.APP_TIMEZONE = _env("APP_TIMEZONE", "Asia/Kolkata") or "Asia/Kolkata"
        self.TRUSTED_PROXIES = _int("TRUSTED_PROXY_HOPS", 0, 0, 5)

        self.MAIL_SERVER = _env("MAIL_SERVER")
        self.MAIL_PORT = _int("MAIL_PORT", 25, 1, 65535)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
        self.MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "CineVerse <no-reply@cineverse.local>")
        self.MAIL_TIMEOUT_S = _int("MAIL_TIMEOUT_S", 10, 1, 120)
        if self.PRODUCTION and self.MAIL_SERVER is None:
            raise ConfigError("production mode needs MAIL_SERVER (sign-up codes are sent by email)")

        # Accounts: one-time codes, the registration token and the rate limits on the auth routes.
        self.OTP_TTL_S = _int("OTP_TTL_S", 300, 30, 3600)
        self.OTP_MAX_ATTEMPTS = _int("OTP_MAX_ATTEMPTS", 5, 1, 20)
        self.OTP_RESEND_COOLDOWN_S = _int("OTP_RESEND_COOLDOWN_S", 60, 0, 3600)
        # Wrong codes per address within a day, across codes (a new code does not reset it); then the
        # address's codes are refused until the day has passed (app.services.otp).
        self.OTP_FAILURES_PER_DAY = _int("OTP_FAILURES_PER_DAY", 10, 1, 1000)
        self.REGISTRATION_TOKEN_TTL_S = _int("REGISTRATION_TOKEN_TTL_S", 900, 60, 86400)
        self.RATE_LIMIT_OTP_PER_IP = _rate("RATE_LIMIT_OTP_PER_IP", "5/minute;30/hour")
        self.RATE_LIMIT_OTP_PER_ADDRESS = _rate("RATE_LIMIT_OTP_PER_ADDRESS", "5/hour")
        self.RATE_LIMIT_VERIFY_PER_IP = _rate("RATE_LIMIT_VERIFY_PER_IP", "20/minute;200/hour")
        self.RATE_LIMIT_LOGIN_PER_IP = _rate("RATE_LIMIT_LOGIN_PER_IP", "20/minute;300/hour")
        # Counts failed logins only, so an attacker cannot lock a user out with one correct guess left.
        self.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT = _rate("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "10/15 minutes")
        self.RATE_LIMIT_AUTH_PER_IP = _rate("RATE_LIMIT_AUTH_PER_IP", "30/minute")
        # The waiting room's queue routes (join, look, leave): per address (a campus or an office shares
        # one) and per account (a page polls every few seconds when its socket is down).
        self.RATE_LIMIT_QUEUE_PER_IP = _rate("RATE_LIMIT_QUEUE_PER_IP", "600/minute")
        self.RATE_LIMIT_QUEUE_PER_ACCOUNT = _rate("RATE_LIMIT_QUEUE_PER_ACCOUNT", "30/minute;300/hour")
        # Best available reads every seat of the showtime and tries a few blocks: per account.
        self.RATE_LIMIT_BEST_SEATS_PER_ACCOUNT = _rate("RATE_LIMIT_BEST_SEATS_PER_ACCOUNT", "20/minute;200/hour")
        self.RATE_LIMIT_BEST_SEATS_PER_IP = _rate("RATE_LIMIT_BEST_SEATS_PER_IP", "300/minute")
        # Flask-Limiter; its storage is the app's Redis (memory in the embedded default), set in init_auth.
        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STRATEGY = "moving-window"

        # Prometheus metrics at /metrics (app.metrics). With a token set, scrapers must send it as a bearer
        # token; without one the route is open to whoever reaches the backend (the frontend's nginx never
        # proxies it).
        self.METRICS_ENABLED = _bool("METRICS_ENABLED", True)
        self.METRICS_TOKEN = _metrics_token()
        if self.PRODUCTION and self.METRICS_ENABLED and self.METRICS_TOKEN is None:
            log.warning("METRICS_TOKEN is not set: /metrics answers anyone who can reach the backend")
        # Read by prometheus_client itself; checked here so that a typo fails at start, not at the first metric.
        self.PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR")
        multiproc_dir = self.PROMETHEUS_MULTIPROC_DIR
        if multiproc_dir is not None and not Path(multiproc_dir).is_dir():
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR must be an existing directory, got {multiproc_dir!r}")

        self.FRONTEND_DIST = Path(_env("FRONTEND_DIST", str(BASE_DIR / "frontend" / "dist")) or "")
        self.TICKETS_DIR = Path(_env("TICKETS_DIR", str(BASE_DIR / "instance" / "tickets")) or "")

        # flask-smorest / OpenAPI
        self.API_TITLE = "CineVerse API"
        self.API_VERSION = "1.0"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"  # self-hosted (app/api/docs.py), never a CDN
        self.API_SPEC_OPTIONS = {
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            }
        }
        self.JSON_SORT_KEYS = False
        self.MAX_CONTENT_LENGTH = 1024 * 1024  # no request body is bigger (413 payload_too_large)

    def _secret(self, name: str) -> str:
        value = _env(name)
        if value:
            if self.PRODUCTION:
                _require_strong_secret(name, value)
            return value
        if self.PRODUCTION:
            raise ConfigError(f"{name} must be set in production mode ({GENERATE_SECRET_HINT})")
        log.warning("%s is not set; using a generated development value (sessions reset on restart)", name)
        return secrets.token_urlsafe(48)

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}


class TestConfig(Config):
    """Settings for the test suite: the real PostgreSQL and Redis of the machine by default."""

    TESTING = True
    __test__ = False  # not a pytest test class

    def __init__(self, **overrides: object) -> None:
        os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 32)
        os.environ.setdefault("JWT_SECRET_KEY", "test-jwt-secret-" + "y" * 32)
        super().__init__()
        self.ENV_NAME = "test"
        for key, value in overrides.items():
            setattr(self, key, value)
        self.EMBEDDED_DB = str(self.SQLALCHEMY_DATABASE_URI).startswith("sqlite")
