"""The web server (postroom.web, granian) as production starts it: what a request's environ
holds, and its access log."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.core.handlers.wsgi import WSGIHandler

from postroom import wsgi
from postroom.serving import QuietStatic, WithoutProcessEnvironment
from postroom.web import logging_config

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_request_never_carries_the_process_environment(tmp_path):
    """granian starts every environ from os.environ; Django would then hold the secrets in
    request.META, which error reports show."""
    port = free_port()
    env = {
        **os.environ,
        "POSTROOM_CANARY_PASSWORD": "do-not-show",
        "LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "web.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "postroom.web", "--port", str(port), "--access-log",
             "--app", "postroom.tests.environ_echo:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        names: list[str] = []
        deadline = time.monotonic() + 60
        while not names and time.monotonic() < deadline:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/probe?x=1", headers={"X-Probe": "yes"}
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    names = json.loads(response.read())
            except OSError:
                time.sleep(0.2)
        # The access line is written after the answer: on a busy machine it can come later
        # than the answer's arrival here, and a stop sent at once would lose it.
        while names and time.monotonic() < deadline and "granian.access" not in log.read_text():
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert "POSTROOM_CANARY_PASSWORD" not in names
    assert not {"SECRET_KEY", "PATH", "HOME"} & set(names)
    # what the request itself brings is all there
    assert {"REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_X_PROBE", "wsgi.input"} <= set(
        names
    )
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "granian.access"]
    assert access
    assert '"GET /probe HTTP/1.1" 200' in access[-1]["message"]


def test_the_wrapper_removes_only_the_names_the_process_had():
    seen: dict[str, object] = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    wrapped = WithoutProcessEnvironment(
        app, environment=["DATABASE_URL", "HTTP_PROXY", "PATH_INFO", "wsgi.input"]
    )
    wrapped(
        {
            "DATABASE_URL": "postgres://user:secret@db/postroom",
            "HTTP_PROXY": "from the request's Proxy header",
            "PATH_INFO": "/",
            "wsgi.input": b"",
        },
        lambda *args: None,
    )
    assert seen == {
        "HTTP_PROXY": "from the request's Proxy header",
        "PATH_INFO": "/",
        "wsgi.input": b"",
    }


def test_django_is_served_behind_the_wrapper():
    front = wsgi.application
    assert isinstance(front.app, WithoutProcessEnvironment)
    assert isinstance(front.app.app, WSGIHandler)


def test_the_development_console_drops_static_files_access_lines_only():
    quiet = QuietStatic()

    def record(path: str) -> logging.LogRecord:
        fields = {"path": path, "method": "GET"}
        return logging.LogRecord("granian.access", logging.INFO, "", 0, "%(path)s", (fields,), None)

    assert not quiet.filter(record("/static/css/app.css"))
    assert not quiet.filter(record("/favicon.ico"))
    assert quiet.filter(record("/health"))
    config = logging_config(quiet_static=True)
    assert config["handlers"]["access"]["filters"] == ["quiet_static"]
    assert "filters" not in logging_config(quiet_static=False)["handlers"]["access"]
