"""The database a benchmark runs on, shared by the bench scripts.

With DATABASE_URL set to PostgreSQL, that database (created when missing); otherwise a SQLite
file under var/bench/. A benchmark that must start empty asks for its database to be dropped
(PostgreSQL) or its file removed (SQLite); one that reuses what an earlier run filled does not.
"""

from __future__ import annotations

import base64
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


def production_settings(name: str) -> None:
    """Run as production does: DEBUG off (with it on, Django keeps and formats every query it
    runs), which needs a secret key and an encryption key, here the benchmark's own; plain
    HTTP on 127.0.0.1. Variables already set win."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")
    os.environ.setdefault("DEBUG", "False")
    os.environ.setdefault("SECRET_KEY", f"{name}-only-secret-key-" + "0123456789" * 5)
    key = f"{name}-encryption-key".ljust(32, "-")[:32].encode()
    os.environ.setdefault("ENCRYPTION_KEYS", base64.urlsafe_b64encode(key).decode())
    os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
