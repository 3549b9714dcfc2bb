"""`manage.py serve` (what `make run` starts): web server and worker together, stopped together."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.django_db
def test_serve_answers_health_and_stops_both_processes_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "POSTROOM_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        body = b""
        deadline = time.monotonic() + 60
        # Wait for both: the web server answering, and the worker having set up its signals.
        while time.monotonic() < deadline and not (body and "Worker running" in log.read_text()):
            try:
                url = f"http://127.0.0.1:{port}/health"
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = response.read()
            except OSError:
                time.sleep(0.2)
        assert body == b'{"status": "ok"}'
        # Static files are served but not logged: the console stays readable for the
        # confirmation link printed there.
        url = f"http://127.0.0.1:{port}/static/css/app.css"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our http URL
            assert response.status == 200
        children = subprocess.run(
            ["pgrep", "-s", str(server.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        # serve, the web server (main process and worker), the embedded worker
        assert len(children) >= 3
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    output = log.read_text()
    assert server.returncode == 0, output
    assert "worker stopped" in output
    assert '"GET /health HTTP/1.1" 200' in output  # other requests are still logged
    assert "/static/" not in output
    left = subprocess.run(
        ["pgrep", "-s", str(server.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert left == []
