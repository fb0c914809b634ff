"""Production mode takes real money only and starts only with secrets that cannot be guessed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.config import Config, ConfigError
from tests.conftest import DATABASE_URL, REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {
        "CINEVERSE_ENV": "production", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
        "MAIL_SERVER": "127.0.0.1", "SECRET_KEY": secrets.token_urlsafe(32),
        "JWT_SECRET_KEY": secrets.token_urlsafe(32), "PAYMENT_GATEWAY": "razorpay",
        "RAZORPAY_KEY_ID": "rzp_live_0123456789", "RAZORPAY_KEY_SECRET": secrets.token_hex(16),
        "PAYMENTS_WEBHOOK_SECRET": secrets.token_hex(16),
    }
    env.update({k: v for k, v in overrides.items() if v is not None})
    for key in [k for k, v in overrides.items() if v is None]:
        env.pop(key, None)
    return env


@pytest.fixture()
def prod_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Sets a production environment; call it with overrides (None removes a variable)."""
    def apply(**overrides: str | None) -> None:
        for key in ("PAYMENT_GATEWAY", "RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "PAYMENTS_WEBHOOK_SECRET"):
            monkeypatch.delenv(key, raising=False)
        for key, value in production_env(**overrides).items():
            monkeypatch.setenv(key, value)
    return apply


def test_a_valid_production_config_starts(prod_env) -> None:  # type: ignore[no-untyped-def]
    prod_env()
    assert Config().PAYMENT_GATEWAY == "razorpay"


def test_production_refuses_the_dev_gateway(prod_env) -> None:  # type: ignore[no-untyped-def]
    prod_env(PAYMENT_GATEWAY="dev")
    with pytest.raises(ConfigError, match="PAYMENT_GATEWAY=razorpay"):
        Config()


def test_production_without_a_gateway_setting_needs_razorpay_keys(prod_env) -> None:  # type: ignore[no-untyped-def]
    # the old default (dev) sold tickets for free when compose left PAYMENT_GATEWAY unset
    prod_env(PAYMENT_GATEWAY=None, RAZORPAY_KEY_ID=None, RAZORPAY_KEY_SECRET=None)
    with pytest.raises(ConfigError, match="RAZORPAY_KEY_ID"):
        Config()


def test_production_needs_a_webhook_secret(prod_env) -> None:  # type: ignore[no-untyped-def]
    prod_env(PAYMENTS_WEBHOOK_SECRET=None)
    with pytest.raises(ConfigError, match="PAYMENTS_WEBHOOK_SECRET"):
        Config()


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("weak", [
    "x", "change-me-to-a-long-random-string", "change-me-to-another-long-random-string",
    "a" * 64, "0123456789" * 5, "test-secret-key-" + "x" * 32, "my-super-secret-signing-key-for-cineverse-prod",
])
def test_production_refuses_weak_or_placeholder_secrets(prod_env, name: str, weak: str) -> None:  # type: ignore[no-untyped-def]
    prod_env(**{name: weak})
    with pytest.raises(ConfigError, match=f"{name} is too weak"):
        Config()


def test_production_refuses_one_secret_for_both_keys(prod_env) -> None:  # type: ignore[no-untyped-def]
    shared = secrets.token_urlsafe(32)
    prod_env(SECRET_KEY=shared, JWT_SECRET_KEY=shared)
    with pytest.raises(ConfigError, match="different"):
        Config()


def test_env_example_placeholders_are_refused_in_production(prod_env) -> None:  # type: ignore[no-untyped-def]
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if "=" in line and not line.lstrip().startswith("#"))
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        prod_env(**{name: example[name]})
        with pytest.raises(ConfigError):
            Config()


def test_generated_secrets_pass_in_production(prod_env) -> None:  # type: ignore[no-untyped-def]
    prod_env(SECRET_KEY=secrets.token_hex(32), JWT_SECRET_KEY=secrets.token_urlsafe(32))
    Config()


def test_production_app_has_no_dev_checkout_and_never_imports_the_dev_gateway() -> None:
    # a fresh interpreter, so modules imported by other tests do not count
    code = (
        "import sys\n"
        "from wsgi import app\n"
        "rules = {r.rule for r in app.url_map.iter_rules()}\n"
        "assert not any('/dev/' in r for r in rules), rules\n"
        "assert 'app.services.payment_gateways.dev' not in sys.modules\n"
        "client = app.test_client()\n"
        "answer = client.post('/api/payments/dev/checkout', json={'razorpay_order_id': 'order_x'})\n"
        "assert answer.status_code in (404, 405), answer.status_code\n"
        "spec = client.get('/api/openapi.json').get_json()\n"
        "assert not any('/dev/' in p for p in spec['paths']), list(spec['paths'])\n"
        "print('ok')\n"
    )
    env = {**os.environ, **production_env()}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_requires_the_payment_secrets_and_never_defaults_to_the_dev_gateway() -> None:
    env = compose()["x-app-env"]
    assert env["CINEVERSE_ENV"] == "production"
    assert env["PAYMENT_GATEWAY"] == "razorpay"
    for name in ("RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "PAYMENTS_WEBHOOK_SECRET", "SECRET_KEY",
                 "JWT_SECRET_KEY", "MAIL_SERVER"):
        assert env[name].startswith("${" + name + ":?"), (name, env[name])


def test_compose_keeps_flower_off_the_public_network() -> None:
    # Flower serves plain HTTP with every secret in its container: loopback of the host at most
    ports = compose()["services"]["flower"].get("ports", [])
    assert all(str(p).startswith("127.0.0.1:") for p in ports), ports
