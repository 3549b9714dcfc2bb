from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.testing.smtp import SmtpSink


@pytest.fixture(autouse=True)
def _sending_settings(settings):
    settings.SENDING_HELO_NAME = "client.postroom.test"
    settings.SENDING_TIMEOUT = 5
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_EXTRA_CA_FILE = ""


@pytest.fixture
def starttls_sink() -> Iterator[SmtpSink]:
    with SmtpSink(tls="starttls") as sink:
        yield sink


@pytest.fixture
def implicit_tls_sink() -> Iterator[SmtpSink]:
    with SmtpSink(tls="implicit") as sink:
        yield sink


class TokenEndpoint:
    """A tiny OAuth2 token endpoint on loopback that hands out `token` for `refresh_token`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.token = "fresh-access-token"
        self.refresh_token = "stored-refresh-token"
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                endpoint.requests.append(form)
                if form.get("refresh_token") == endpoint.refresh_token:
                    status, body = 200, {"access_token": endpoint.token, "expires_in": 3600}
                elif form.get("grant_type") == "authorization_code" and form.get("code") == "ok":
                    status, body = (
                        200,
                        {
                            "access_token": endpoint.token,
                            "refresh_token": "granted-refresh-token",
                            "expires_in": 3600,
                        },
                    )
                else:
                    status, body = 400, {"error": "invalid_grant"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    yield endpoint
    endpoint.stop()
