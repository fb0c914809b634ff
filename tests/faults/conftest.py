"""Fault tests: servers this suite starts itself (on free loopback ports, stopped by pid), so that a test
can kill them mid-purchase without touching the machine's own Redis or PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.processes import free_port, stop_process

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class OwnRedis:
    """A redis-server of this test alone (no persistence: a restart loses every key)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self, hard: bool = False) -> None:
        if self.process is None:
            return
        if hard:
            self.process.kill()
            self.process.wait(10)
        else:
            stop_process(self.process, timeout=10)
        self.process = None

    def restart(self) -> None:
        """Killed (SIGKILL) and started again on the same port: every key is gone."""
        self.stop(hard=True)
        self.start()


@pytest.fixture()
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
