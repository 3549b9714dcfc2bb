"""The test plugin that ends database sessions left behind by other processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.db import connection

from core.testing import database_sessions

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_A_LOCK = """
import sys, time, psycopg
with psycopg.connect(sys.argv[1]) as db:
    db.execute("LOCK TABLE accounts_workspace IN SHARE ROW EXCLUSIVE MODE")
    print("locked", flush=True)
    time.sleep(600)
"""


def require_postgresql() -> str:
    if connection.vendor != "postgresql":
        pytest.skip("the plugin watches PostgreSQL sessions; this run is SQLite")
    dsn = database_sessions._test_database_dsn()
    assert dsn is not None
    return dsn


def test_this_process_s_own_connections_are_never_strays():
    dsn = require_postgresql()
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_client_port()")
        (port,) = cursor.fetchone()
    assert port in database_sessions.own_local_ports()
    assert database_sessions.end_stray_sessions(dsn) == []
    connection.ensure_connection()  # still open: it was not ended


def test_a_session_left_by_another_process_is_ended_and_named(personas):
    dsn = require_postgresql()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_LOCK, dsn], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        ended = database_sessions.end_stray_sessions(dsn)
        assert len(ended) == 1
        assert "LOCK TABLE accounts_workspace" in str(ended[0][4])
        # The lock went with it: a write that would have waited goes through at once.
        started = time.monotonic()
        personas.workspace.save()
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()


def test_who_waits_on_whom_is_printed(capsys):
    dsn = require_postgresql()
    database_sessions.print_who_waits(dsn, "some::test")
    printed = capsys.readouterr().err
    assert "some::test is still running" in printed
