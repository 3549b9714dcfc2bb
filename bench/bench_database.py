"""The database a benchmark runs on, shared by the bench scripts.

With DATABASE_URL set to PostgreSQL, that database (created when missing); otherwise a SQLite
file under var/bench/. A benchmark that must start empty asks for its database to be dropped
(PostgreSQL) or its file removed (SQLite); one that reuses what an earlier run filled does not.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prepare_database(name: str, *, drop_postgres: bool, drop_sqlite: bool) -> str:
    """Point Django at the benchmark's database; return "postgresql" or "sqlite"."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, db = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
            if exists and drop_postgres:
                conn.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
            if not exists or drop_postgres:
                conn.execute(f'CREATE DATABASE "{db}"')
        return "postgresql"
    path = ROOT / "var" / "bench" / f"{name}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    if drop_sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return "sqlite"
