"""Sentry: nothing is loaded without SENTRY_DSN; with one, an error reaches the DSN's server."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

BASE_ENV = {"POSTROOM_DEVELOPMENT": "1", "PATH": "/usr/bin:/bin"}
SETUP = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='postroom.settings'; django.setup(); "
)


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SETUP + code],
        capture_output=True,
        text=True,
        env={**BASE_ENV, **env},
        check=True,
        timeout=60,
    )


def test_without_a_dsn_the_sdk_is_not_even_imported():
    result = run("import sys; print('sentry_sdk' in sys.modules)")
    assert result.stdout.strip() == "False"


def test_with_a_dsn_an_error_is_sent_to_its_server_without_personal_data():
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/42"
        result = run(
            "import sentry_sdk; print(sentry_sdk.get_client().is_active()); "
            "sentry_sdk.capture_exception(RuntimeError('boom')); sentry_sdk.flush(5)",
            SENTRY_DSN=dsn,
            SENTRY_ENVIRONMENT="ci",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.stdout.strip() == "True"
    assert received, "the SDK sent nothing to the DSN's server"
    items = [json.loads(line) for line in received[0].splitlines() if line.startswith(b"{")]
    event = next(item for item in items if "exception" in item)
    assert event["environment"] == "ci"
    assert event["exception"]["values"][0]["value"] == "boom"
    assert "user" not in event or "email" not in event["user"]
