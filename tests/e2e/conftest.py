"""Browser-test fixtures: the built frontend served by a real gunicorn, and Debian's Chromium (never a
downloaded browser build); the frontend is built first only when frontend/dist is missing (`make test`
builds it before pytest)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import DATABASE_URL, REDIS_URL
from tests.e2e.browser_support import CHROMIUM, CHROMIUM_ARGS, DIST, FRONTEND
from tests.processes import gunicorn


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed() -> None:
    """A missing browser fails the run (`make test` installs Debian's Chromium); it never skips."""
    assert Path(CHROMIUM).is_file(), f"no Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium)"


@pytest.fixture(scope="module")
def frontend_dist() -> Path:
    """frontend/dist, built here only when it is missing."""
    if not (DIST / "index.html").is_file():
        npm = shutil.which("npm")
        assert npm, "npm is needed to build the frontend"
        if not (FRONTEND / "node_modules").is_dir():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)
    assert (DIST / "index.html").is_file()
    return DIST


@pytest.fixture()
def server_secret_key() -> str:
    """The server's SECRET_KEY (ticket check-in codes are signed with it)."""
    return secrets.token_hex(16)


@pytest.fixture()
def server_settings() -> dict[str, str]:
    """Settings a test module adds to the server's environment (override the fixture)."""
    return {}


@pytest.fixture()
def server(app: Flask, frontend_dist: Path, tmp_path: Path, server_secret_key: str,
           server_settings: dict[str, str]) -> Iterator[str]:
    """`gunicorn wsgi:app` on a free loopback port serving the API and the built frontend."""
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "CELERY_EAGER": "true",
           "TICKETS_DIR": str(tmp_path / "tickets"), "FRONTEND_DIST": str(frontend_dist),
           "PAYMENT_GATEWAY": "dev", "SECRET_KEY": server_secret_key, "JWT_SECRET_KEY": secrets.token_hex(32),
           "LOG_LEVEL": "WARNING", **server_settings}
    with gunicorn(env, "--workers", "1", "--worker-class", "gthread", "--threads", "50", "--timeout", "60") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture()
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()
