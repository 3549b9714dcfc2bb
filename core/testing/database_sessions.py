"""Pytest plugin: no PostgreSQL session outlives the test process that made it, unseen.

Tests that start worker processes (Celery with its pool, the embedded worker, the web server) can
leave one behind, still connected to the test database; its transactions then wait on, or
hold up, the tests that follow, and a later test hangs in a plain INSERT with nothing in its
own stack to say why. So, on PostgreSQL:

- before each database test, sessions on the test database that belong to no socket of this
  process are ended, with a warning naming them (their query, state and application), so
  one test's leftovers cannot hang the next and the run still says what was left;
- a test still running at 85 % of its timeout prints who waits on whom in the database
  (`pg_blocking_pids`), so a hang names its blocker instead of only the waiting statement.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.testing.hang_guard import timeout_of

# PostgreSQL's own processes (autovacuum, checkpointer, ...) have no client port.
STRAY_SESSIONS = """
    SELECT pid, client_port, state, application_name, left(query, 200),
           now() - coalesce(xact_start, backend_start)
      FROM pg_stat_activity
     WHERE datname = current_database() AND backend_type = 'client backend'
       AND client_port IS NOT NULL AND pid <> pg_backend_pid()
"""
WHO_WAITS = """
    SELECT pid, client_port, state, wait_event_type, wait_event, pg_blocking_pids(pid),
           now() - xact_start, left(query, 300)
      FROM pg_stat_activity
     WHERE datname = current_database() AND backend_type = 'client backend'
       AND pid <> pg_backend_pid()
"""
DUMP_AT = 0.85  # of the test's timeout


class StraySessionWarning(UserWarning):
    """A database session left behind by an earlier test's process."""


def own_local_ports() -> set[int]:
    """The local TCP ports of this process's sockets (every thread's database connection)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed since the listing
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _test_database_dsn() -> str | None:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor != "postgresql" or not str(settings["NAME"]).startswith("test_"):
        return None  # SQLite, or the test database is not set up yet
    return (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"user={settings['USER'] or 'postgres'} dbname={settings['NAME']}"
    )


def end_stray_sessions(dsn: str) -> list[tuple[object, ...]]:
    """End the test database's sessions that are not this process's; return what they were."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as db:
        rows = db.execute(STRAY_SESSIONS).fetchall()
        ours = own_local_ports()
        strays = [row for row in rows if row[1] not in ours]
        for row in strays:
            db.execute("SELECT pg_terminate_backend(%s)", [row[0]])
    return strays


def print_who_waits(dsn: str, nodeid: str) -> None:
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as db:
            rows = db.execute(WHO_WAITS).fetchall()
        ours = own_local_ports()
    except Exception as exc:  # a diagnostic must never fail the run itself
        print(f"\n[database sessions] {nodeid}: could not read them: {exc}", file=sys.stderr)
        return
    print(f"\n[database sessions] {nodeid} is still running; sessions now:", file=sys.stderr)
    for pid, port, state, kind, event, blockers, age, query in rows:
        owner = "this process" if port in ours else "another process"
        print(
            f"  pid {pid} ({owner}, port {port}) {state} wait={kind}/{event} "
            f"blocked_by={blockers} xact_age={age}: {query}",
            file=sys.stderr,
        )


@pytest.fixture(autouse=True)
def _database_sessions(request: pytest.FixtureRequest) -> Iterator[None]:
    uses_database = {"db", "transactional_db", "django_db_setup"} & set(request.fixturenames)
    if not uses_database and request.node.get_closest_marker("django_db") is None:
        yield
        return
    dsn = _test_database_dsn()
    if dsn is None:
        yield
        return
    for pid, port, state, application, query, age in end_stray_sessions(dsn):
        warnings.warn(
            f"ended a database session left by another process (pid {pid}, port {port}, "
            f"{state} for {age}, application {application!r}): {query}",
            StraySessionWarning,
            stacklevel=1,
        )
    timeout = timeout_of(request.node)
    watchdog = None
    if timeout > 0:
        watchdog = threading.Timer(timeout * DUMP_AT, print_who_waits, (dsn, request.node.nodeid))
        watchdog.daemon = True
        watchdog.start()
    try:
        yield
    finally:
        if watchdog is not None:
            watchdog.cancel()
