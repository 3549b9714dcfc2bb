"""Real HTTP servers on loopback for the parts of the outside world that speak HTTP.

Each answers JSON over a socket, so the code under test makes its real requests: an OAuth2
token endpoint (refresh tokens, consent codes), a token introspection endpoint (what a mail
server such as Dovecot asks before it takes an XOAUTH2 login) and an e-mail service's send
API (Postmark's, whose address anymail takes from the `ANYMAIL` setting). The service can
hold its answers, as a slow or stuck API does, until `release()`.

`ReplayServer` stands in for any e-mail service: it answers every request with a recorded
reply (`Reply`, read from a JSON file shaped as the service documents it), records each
request for the test to read, and can drop the connection without answering or hold its
answer, as a service that breaks or stalls does.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self


class LoopbackServer:
    """An HTTP server on 127.0.0.1 at a free port, serving `handler` in a thread of its own.
    Use it as a context manager, or call `stop()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.host, self.port = "127.0.0.1", int(self.server.server_address[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class JsonServer(LoopbackServer, ABC):
    """A loopback server whose `answer(path, body)` gives each POST's status and JSON reply."""

    def __init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                status, reply = server.answer(self.path, self.rfile.read(length))
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

    @abstractmethod
    def answer(self, path: str, body: bytes) -> tuple[int, Any]:
        """The status and JSON reply to a POST of `body` to `path`."""


class TokenEndpoint(JsonServer):
    """An OAuth2 token endpoint that hands out `token` for `refresh_token`, and for the
    consent code "ok"."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.token = "fresh-access-token"  # noqa: S105 - a test double's
        self.refresh_token = "stored-refresh-token"  # noqa: S105 - a test double's
        super().__init__()
        self.url = f"{self.base_url}/token"

    def answer(self, path: str, body: bytes) -> tuple[int, Any]:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        self.requests.append(form)
        if form.get("refresh_token") == self.refresh_token:
            return 200, {"access_token": self.token, "expires_in": 3600}
        if form.get("grant_type") == "authorization_code" and form.get("code") == "ok":
            return 200, {
                "access_token": self.token,
                "refresh_token": "granted-refresh-token",
                "expires_in": 3600,
            }
        return 400, {"error": "invalid_grant"}


class IntrospectionEndpoint(JsonServer):
    """An OAuth2 token introspection endpoint (RFC 7662), as Dovecot's oauth2 passdb asks it
    (`introspection_mode = post`): a token given to a user by `grant()` is active for them;
    any other, or one taken back by `revoke()`, is not. `requests` are the tokens asked about."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        super().__init__()
        self.url = f"{self.base_url}/introspect"

    def grant(self, token: str, user: str) -> None:
        with self._lock:
            self.tokens[token] = user

    def revoke(self, token: str) -> None:
        with self._lock:
            self.tokens.pop(token, None)

    def reset(self) -> None:
        with self._lock:
            self.tokens.clear()
            self.requests.clear()

    def answer(self, path: str, body: bytes) -> tuple[int, Any]:
        token = dict(urllib.parse.parse_qsl(body.decode())).get("token", "")
        with self._lock:
            self.requests.append(token)
            user = self.tokens.get(token)
        if user is None:
            return 200, {"active": False}
        return 200, {"active": True, "username": user, "scope": "https://mail.google.com/"}


class PostmarkApi(JsonServer):
    """Postmark's send API (`POST /email`, one message a request): accepts every message and
    keeps its JSON. `hold()` makes every request wait, as a stuck service does, until
    `release()`; `held` says how many wait now."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()
        self._held = 0
        super().__init__()
        self.url = f"{self.base_url}/"  # anymail's POSTMARK_API_URL

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @property
    def held(self) -> int:
        with self._lock:
            return self._held

    def answer(self, path: str, body: bytes) -> tuple[int, Any]:
        if path != "/email":
            return 404, {"ErrorCode": 404, "Message": f"No such endpoint: {path}"}
        with self._lock:
            self._held += 1
        try:
            self._open.wait()
        finally:
            with self._lock:
                self._held -= 1
        message = json.loads(body)
        with self._lock:
            self.messages.append(message)
        return 200, {
            "To": message["To"],
            "SubmittedAt": "2026-11-21T10:00:00Z",
            "MessageID": str(uuid.uuid4()),
            "ErrorCode": 0,
            "Message": "OK",
        }

    def stop(self) -> None:
        self.release()  # held requests answer, so that their threads end
        super().stop()


@dataclass(frozen=True)
class Reply:
    """One recorded HTTP answer: status, headers and body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_file(cls, path: Path) -> Reply:
        """A reply from a JSON file: ``{"status": 200, "headers": {...}, "json": {...}}``,
        or ``"text": "..."`` for a service that answers in plain text. A JSON body gets
        ``Content-Type: application/json`` unless the file names its own."""
        recorded = json.loads(path.read_text(encoding="utf-8"))
        headers = dict(recorded.get("headers", {}))
        if "json" in recorded:
            body = json.dumps(recorded["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = str(recorded.get("text", "")).encode()
            if body:
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return cls(int(recorded["status"]), body, tuple(headers.items()))


@dataclass(frozen=True)
class Request:
    """One request the replay server received."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# What the server does with the next requests: answer, close without answering, or wait
# without answering until released (the client's own timeout ends the wait first).
Behaviour = Literal["answer", "drop", "stall"]


Answer = Reply | Callable[[Request], Reply]  # a reply, or one made from the request


class ReplayServer(LoopbackServer):
    """An e-mail service on loopback: every request is recorded and answered with the reply
    given to `play()` (200 with an empty JSON object until then), or the reply a function
    given to `play()` makes from the request (a service that echoes part of it).

    `drop()` makes it read each request in full and close the connection without a word
    (the request may have been acted on: the client cannot know); `stall()` makes it read
    each request and answer nothing until `stop()`, so the client's timeout expires.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._reply: Answer = Reply(200, b"{}", (("Content-Type", "application/json"),))
        self._behaviour: Behaviour = "answer"
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                server._handle(self)

            def do_PUT(self) -> None:
                server._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)

    @property
    def requests(self) -> list[Request]:
        """The requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def play(self, reply: Answer) -> None:
        """Answer every next request with `reply` (or what it makes of the request)."""
        with self._lock:
            self._reply, self._behaviour = reply, "answer"

    def drop(self) -> None:
        with self._lock:
            self._behaviour = "drop"

    def stall(self) -> None:
        with self._lock:
            self._behaviour = "stall"

    def stop(self) -> None:
        self._stopping.set()  # stalled requests end, so that their threads do
        super().stop()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length)
        request = Request(
            handler.command,
            handler.path,
            {name.lower(): value for name, value in handler.headers.items()},
            body,
        )
        with self._lock:
            self._requests.append(request)
            reply, behaviour = self._reply, self._behaviour
        if behaviour == "stall":
            self._stopping.wait()
        if behaviour != "answer":
            handler.close_connection = True
            return  # the handler closes the socket: no status line is ever written
        if not isinstance(reply, Reply):
            reply = reply(request)
        handler.send_response(reply.status)
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
