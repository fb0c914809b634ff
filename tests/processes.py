"""Real server processes for the tests that need one: gunicorn on a free loopback port, stopped cleanly."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:  # type: ignore[type-arg]
    """Terminate, then kill if it will not go."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def gunicorn(env: dict[str, str], *options: str, app_path: str = "wsgi:app", start_timeout: float = 30,
             ) -> Iterator[int]:
    """`gunicorn <options> app_path` on a free loopback port, yielded once /api/health answers 200.

    The server's stderr is printed when it fails to start or logged a traceback (shown on failure).
    """
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}", *options, app_path],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"gunicorn did not start: {log.read()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        stop_process(process)
        log.seek(0)
        errors = log.read()
        log.close()
        if "Traceback" in errors:
            print(errors[-5000:])
