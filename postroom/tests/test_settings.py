"""The settings refuse to run production on development secrets, and pass `check --deploy`."""

import os
import re
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
    """manage.py as a fresh start: none of the suite's own variables, only `env`."""
    inherited = (
        "SECRET_KEY",
        "ENCRYPTION_KEYS",
        "DATABASE_URL",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "DEBUG",
        "POSTROOM_TESTING",
        "POSTROOM_DEVELOPMENT",
        "POSTROOM_VAR_DIR",
        "SENDING_ALLOW_PRIVATE_HOSTS",
    )
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


SHOW = (
    "import hashlib; from django.conf import settings as s; "
    "print(s.DEBUG, s.SENDING_ALLOW_PRIVATE_HOSTS, hashlib.sha256(s.SECRET_KEY.encode())"
    ".hexdigest(), s.ENCRYPTION_KEYS[0] != s.SECRET_KEY)"
)


def test_a_start_with_no_variable_is_production_and_refuses_without_secrets(tmp_path):
    """The web server, Celery, the image: nothing says development, so no key is ever made up."""
    result = manage("check", POSTROOM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "production mode (DEBUG=False)" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_debug_private_smtp_hosts_are_refused_by_default(tmp_path):
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        SHOW,
        POSTROOM_VAR_DIR=str(tmp_path),
        SECRET_KEY="k" * 60,
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stderr
    debug, private_hosts, _, _ = result.stdout.split()
    assert (debug, private_hosts) == ("False", "False")


def test_make_run_makes_a_random_development_key_once_and_keeps_it(tmp_path):
    first, second, elsewhere = tmp_path / "a", tmp_path / "a", tmp_path / "b"
    runs = [
        manage("shell", "-v", "0", "-c", SHOW, POSTROOM_DEVELOPMENT="1", POSTROOM_VAR_DIR=str(var))
        for var in (first, second, elsewhere)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    shown = [run.stdout.split() for run in runs]
    assert shown[0][:2] == ["True", "True"]  # development: DEBUG, private SMTP hosts allowed
    assert shown[0][2] == shown[1][2]  # the same key at the next start
    assert shown[0][2] != shown[2][2]  # and no constant: another checkout gets another key
    assert shown[0][3] == "True"  # the encryption key is not the secret key itself
    key_file = first / "development-secret-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in first.iterdir()] == ["development-secret-key"]


def test_make_run_and_lint_start_in_development_mode_and_nothing_else_does():
    """mypy's Django plugin reads the settings too: `make lint` on a clean clone must load them."""
    makefile = (ROOT / "Makefile").read_text()
    [targets] = re.findall(r"^(.+): export POSTROOM_DEVELOPMENT := 1$", makefile, re.M)
    assert {"run", "lint"} <= set(targets.split())
    assert "test" not in targets.split()  # the suite sets its own random secrets


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


def test_a_trusted_proxy_that_is_not_an_address_is_refused_with_a_clear_message():
    result = manage(
        "check",
        **PRODUCTION,
        SECRET_KEY="x" * 60,
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        TRUSTED_PROXIES="10.0.0.0/8,proxy.internal",
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network" in result.stderr


def test_single_sign_on_reads_its_secret_from_a_file_and_is_off_without_an_issuer(tmp_path):
    secret = tmp_path / "oidc_secret"
    secret.write_text("from-a-file\n", encoding="utf-8")
    show = (
        "from django.conf import settings as s; "
        "print(s.SSO_ENABLED, s.OIDC_RP_CLIENT_SECRET, s.OIDC_DISCOVERY_URL, s.SSO_ALLOWED_DOMAINS)"
    )
    result = manage(
        "shell",
        "-c",
        show,
        DEBUG="True",
        OIDC_ISSUER="https://id.example.org/realm/",
        OIDC_CLIENT_ID="postroom",
        OIDC_CLIENT_SECRET_FILE=str(secret),
        OIDC_ALLOWED_DOMAINS="Example.org,@corp.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True",
        "from-a-file",
        "https://id.example.org/realm/.well-known/openid-configuration",
        "['example.org',",
        "'corp.example']",
    ]
    off = manage("shell", "-c", show, DEBUG="True")
    assert off.stdout.strip().splitlines()[-1].split()[0] == "False"


def test_a_client_id_without_an_issuer_stops_with_a_clear_message():
    result = manage("check", DEBUG="True", OIDC_CLIENT_ID="postroom")
    assert result.returncode != 0
    assert "OIDC_CLIENT_ID is set without OIDC_ISSUER" in result.stderr
