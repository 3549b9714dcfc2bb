"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request and answers
what the test asks (a status code, or no answer at all for a while)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from core.testing.smtp import default_test_cert


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.body)["events"]
        return events


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    # Statuses to answer, in order; when empty, `default` (200).
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    hang_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    tls: bool = False

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        if self.tls:  # the test certificate's name (trusted through SENDING_EXTRA_CA_FILE)
            return f"https://localhost:{port}/hooks"
        return f"http://127.0.0.1:{port}/hooks"

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default

    def record(self, received: Received) -> None:
        with self.lock:
            self.requests.append(received)

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver(*, tls: bool = False) -> Receiver:
    """`tls`: HTTPS with the test certificate of localhost (core.testing.smtp's)."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.hang_seconds:
                time.sleep(receiver.hang_seconds)
            status = receiver.next_status()
            receiver.record(Received(self.path, dict(self.headers.items()), body, status))
            payload = b'{"ok": true}' if status < 300 else b"receiver error " * 100
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*default_test_cert())
        server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(server=server, tls=tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
