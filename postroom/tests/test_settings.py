"""The settings refuse to run production on development secrets, and pass `check --deploy`."""

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = ("SECRET_KEY", "ENCRYPTION_KEYS", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "False",
    "ALLOWED_HOSTS": "mail.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://mail.example.org",
    "EMAIL_URL": "smtp://localhost:25",
}


def test_production_without_a_secret_key_stops_with_a_clear_message():
    result = manage("check", **PRODUCTION, ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_without_encryption_keys_stops_with_a_clear_message():
    result = manage("check", **PRODUCTION, SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS is not set" in result.stderr


def test_a_malformed_encryption_key_is_refused():
    result = manage("check", **PRODUCTION, SECRET_KEY="x" * 60, ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "Fernet keys" in result.stderr


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("k3y-" + Fernet.generate_key().decode() * 2)
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        SECRET_KEY_FILE=str(secret_file),
        ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def _sqlite_file_connection(path: Path) -> Any:
    from django.db.backends.sqlite3.base import DatabaseWrapper

    settings_dict = {**connection.settings_dict, "NAME": str(path), "TEST": {}}
    return DatabaseWrapper(settings_dict, alias=f"wal-{path.name}")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings; this run is not")
def test_sqlite_runs_in_wal_mode_and_two_writers_never_see_database_is_locked(
    tmp_path, django_db_blocker
):
    """The web server and the worker write at once: both must get through, none may fail."""
    with django_db_blocker.unblock():
        _concurrent_writers(tmp_path / "concurrent.sqlite3")


def _concurrent_writers(path: Path) -> None:
    setup = _sqlite_file_connection(path)
    with setup.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
        cursor.execute("CREATE TABLE t (writer INTEGER, n INTEGER)")
    setup.close()
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        conn = _sqlite_file_connection(path)
        try:
            for n in range(150):
                with conn.cursor() as cursor:  # read-then-write: the classic lock upgrade
                    conn.set_autocommit(False)
                    cursor.execute("SELECT count(*) FROM t")
                    cursor.execute("INSERT INTO t VALUES (%s, %s)", [writer, n])
                    conn.commit()
                    conn.set_autocommit(True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = _sqlite_file_connection(path)
    with check.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone()[0] == 450
    check.close()
