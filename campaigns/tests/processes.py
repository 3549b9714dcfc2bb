"""Helpers for tests that run real worker processes against the test database."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, to stop and start at will
    (the machine's shared Redis on 6379 is never touched). No persistence: a restart is an
    empty broker, the harshest case for a worker."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            reason = "redis-server is not installed (the broker outage test starts its own)"
            if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self._answers, 10, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def worker_env(sink, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
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
    """A process in a session (and process group) of its own, so that `stop` can end its
    children too (Celery's pool, the web server's workers) and none outlives the test."""
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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
            proc.wait(timeout=20)
        # What the process left of its group (a pool child orphaned by a kill) goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


PG_BIN = Path(os.environ.get("POSTROOM_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, on a free port, that the test may stop,
    crash and restart (never the machine's shared server). Run as the `postgres` user when
    the tests run as root, which PostgreSQL refuses to be."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            reason = f"no PostgreSQL server binaries in {PG_BIN} (POSTROOM_PG_BIN)"
            if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        self.root = Path(tempfile.mkdtemp(prefix="postroom-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(PG_BIN / tool), *args],
            check=True, capture_output=True, cwd=self.root, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            # Commits are durable as in production (an immediate stop loses none of them);
            # fsync is not needed for that, only for the machine's own crash.
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown; `immediate`: as a crash (recovery at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def copy_database(self, source_url: str, database: str) -> None:
        """A copy of another server's database (schema and rows) as `database` here."""
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             database], check=True, env=env, timeout=60,
        )  # fmt: skip
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True, capture_output=True, env=env, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(database)],
            input=dump.stdout, check=True, capture_output=True, env=env, timeout=120,
        )  # fmt: skip

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def database_url() -> str:
    """The test database's URL, as the worker processes use it."""
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
