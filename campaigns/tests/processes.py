"""Helpers for tests that run real worker processes against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("worker processes share the test database only on PostgreSQL")


def redis_url(db: int = 14) -> str:
    """A Redis broker on this machine, or a skip (a failure where CI requires services)."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return f"redis://127.0.0.1:6379/{db}"
    except OSError:
        reason = "Redis is not running on 127.0.0.1:6379 (Celery tests need a broker)"
        if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def worker_env(sink, **extra: str) -> dict[str, str]:
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SENDING_ALLOW_PRIVATE_HOSTS": "True",
        "SENDING_HELO_NAME": "worker.postroom.test",
        "SITE_URL": "https://mail.example.test",
        "DELIVERY_RETRY_BASE_SECONDS": "1",
        "DELIVERY_RETRY_MAX_SECONDS": "2",
        "DELIVERY_RETRY_JITTER": "0",
        "DELIVERY_LEASE_SECONDS": "5",
        **extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
    )


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
