"""A real SMTP server for tests, so that sending code is tested over a socket and not a mock.

`SmtpSink` runs aiosmtpd in a background thread on 127.0.0.1 at a free port and records every
message it accepts. What it answers depends on the recipient, so one sink serves the happy path
and the failures the delivery engine must classify:

- built in, by local part: ``tempfail+…`` gets ``451 4.3.0``, ``nouser+…`` ``550 5.1.1``,
  ``policy+…`` ``554 5.7.1`` and ``full+…`` ``552 5.2.2``, all at RCPT TO;
- programmed: `set_reply()` for an exact address or a predicate, at RCPT or after DATA, for
  every message or only the next few (``times=``); `fail_percent()` refuses a seeded random
  share of recipients;
- `require_auth()` turns on AUTH PLAIN, LOGIN and XOAUTH2 (offered without TLS: loopback only);
- `tls="starttls"` or ``"implicit"`` with a generated self-signed certificate;
- misbehaviour: `drop_during_data()` closes the connection after the final dot without
  answering (the "ambiguous" case), `drop_at()` closes it on MAIL, RCPT or DATA, `hang()`
  accepts connections and never greets, `greet()` greets with a refusal (``421 4.3.2 …``)
  and closes, `tarpit()` holds the greeting or the reply to the
  final dot of every connection until `release()` (or a number of seconds), `stop()` and
  `start()` take the server away and bring
  it back on the same port, and any ``421`` reply closes the connection after it is sent, as
  real servers do;
- `on_message()` runs a test's own code when a message arrives, before the sink answers its
  final dot: what a person does at that moment (pause the campaign through its service,
  say), seen by the client as it would see it from outside.

Everything the sink holds is guarded by one lock: tests read it from their thread while the
server writes from its own. `reset()` returns the sink to its first state between tests.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import binascii
import email.policy
import ipaddress
import json
import random
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, AnyStr, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

ReplyStage = Literal["rcpt", "data"]
# Where `drop_at()` closes the connection: on receiving MAIL, RCPT or DATA (before its
# reply), or after the final dot of a message read in full (as `drop_during_data()`).
DropStage = Literal["mail", "rcpt", "data", "dot"]
DROP_STAGES: tuple[DropStage, ...] = ("mail", "rcpt", "data", "dot")
TlsMode = Literal["starttls", "implicit"]
RecipientMatcher = str | Callable[[str], bool]

# Local-part prefixes that always get a refusal, so a test needs no setup to meet one.
BUILTIN_REPLIES: dict[str, str] = {
    "tempfail": "451 4.3.0 Try again later",
    "nouser": "550 5.1.1 User unknown",
    "policy": "554 5.7.1 Message rejected as spam",
    "full": "552 5.2.2 Mailbox full",
}

AUTH_REQUIRED_REPLY = "530 5.7.0 Authentication required"
AUTH_INVALID_REPLY = "535 5.7.8 Authentication credentials invalid"
SERVER_NAME = "sink.postroom.test"

_REPLY_RE = re.compile(r"^[2-5]\d\d( .*)?$")
_PARSER = BytesParser(policy=email.policy.default)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CapturedMessage:
    """One message the sink accepted: the envelope, the raw bytes and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    peer: tuple[str, int]
    received_at: datetime
    auth_login: str | None = None
    tls: bool = False

    @property
    def subject(self) -> str:
        return self.header("Subject") or ""

    @property
    def message_id(self) -> str | None:
        return self.header("Message-ID")

    @property
    def text(self) -> str | None:
        """The text/plain body, decoded, with \\n line ends; None when there is none."""
        return self._body("plain")

    @property
    def html(self) -> str | None:
        """The text/html body, decoded, with \\n line ends; None when there is none."""
        return self._body("html")

    @property
    def attachments(self) -> list[tuple[str | None, str, bytes]]:
        """(filename, content type, decoded bytes) for each attachment."""
        parts = []
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            parts.append((part.get_filename(), part.get_content_type(), content))
        return parts

    def header(self, name: str) -> str | None:
        """The header's value as a decoded string, or None when absent."""
        value = self.message[name]
        return None if value is None else str(value)

    def headers(self, name: str) -> list[str]:
        """Every value of a header that may repeat (Received, DKIM-Signature, ...)."""
        return [str(value) for value in self.message.get_all(name, [])]

    def _body(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None:
            return None
        content: object = part.get_content()
        if not isinstance(content, str):
            return None
        # The wire has CRLF line ends; tests compare with Python text.
        return content.replace("\r\n", "\n")


@dataclass(frozen=True)
class Refusal:
    """A reply the sink gave instead of accepting: at RCPT for one address, or after DATA."""

    stage: ReplyStage
    mail_from: str
    rcpt_tos: list[str]
    reply: str
    received_at: datetime


@dataclass
class _Rule:
    matches: Callable[[str], bool]
    reply: str
    stage: ReplyStage
    remaining: int | None


@dataclass
class _Hook:
    run: Callable[[CapturedMessage], None]
    matches: Callable[[str], bool] | None
    remaining: int | None


@dataclass(frozen=True)
class _Credentials:
    username: str
    password: str | None
    oauth_token: str | None


@dataclass
class _State:
    """Everything reset() clears; one instance, replaced whole under the lock."""

    messages: list[CapturedMessage] = field(default_factory=list)
    dropped: list[CapturedMessage] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    hooks: list[_Hook] = field(default_factory=list)
    hook_errors: list[BaseException] = field(default_factory=list)
    fail_share: float = 0.0
    fail_reply: str = ""
    fail_rng: random.Random | None = None
    credentials: _Credentials | None = None
    drops_left: int = 0  # -1: every message
    drops_at: dict[str, int] = field(default_factory=dict)  # stage -> how many more (-1: all)
    hanging: bool = False
    greeting: str = ""  # greet(): the reply that replaces 220, then the connection closes
    greetings_left: int = 0  # -1: every new connection
    tarpit_stage: str = ""  # "greeting" or "dot": where replies are held; "" for none
    slow_seconds: float = 0.0  # every reply to a final dot waits this long (a slow server)
    pipelining: bool = False  # offer_pipelining(): PIPELINING in the EHLO reply
    tarpit_until: float = 0.0  # time.monotonic() when held replies go anyway
    held: int = 0  # replies held by the tarpit right now
    connections: int = 0
    live: set[Any] = field(default_factory=set)  # sessions opened since reset(), still open


def _check_reply(reply: str) -> str:
    if not _REPLY_RE.match(reply):
        raise ValueError(f"an SMTP reply is a 2xx-5xx code and text, like '451 4.3.0 …': {reply!r}")
    return reply


def _matcher(recipient: RecipientMatcher) -> Callable[[str], bool]:
    """A predicate on addresses: `recipient` itself, or equality ignoring case."""
    if not isinstance(recipient, str):
        return recipient
    wanted = recipient.lower()

    def matches_exactly(address: str) -> bool:
        return address.lower() == wanted

    return matches_exactly


def _local_part(address: str) -> str:
    return address.rpartition("@")[0].lower() if "@" in address else address.lower()


class SmtpSink:
    """A real SMTP server on loopback that records messages and answers as programmed.

    Start it with `start()` or ``with SmtpSink() as sink:``. `host` and `port` are where to
    connect; the port is chosen once, at the first start, and kept across `stop()`/`start()`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: TlsMode | None = None,
        cert: Path | str | None = None,
        key: Path | str | None = None,
        require_starttls: bool = False,
    ) -> None:
        if tls not in (None, "starttls", "implicit"):
            raise ValueError(f"tls must be None, 'starttls' or 'implicit', not {tls!r}")
        if (cert is None) != (key is None):
            raise ValueError("give both cert and key, or neither for a generated certificate")
        self._host = host
        self._port = port
        self.tls: TlsMode | None = tls
        self.cert_path: Path | None = None
        self.key_path: Path | None = None
        self._server_context: ssl.SSLContext | None = None
        if tls is not None:
            if cert is None or key is None:
                self.cert_path, self.key_path = default_test_cert()
            else:
                self.cert_path, self.key_path = Path(cert), Path(key)
            self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._server_context.load_cert_chain(self.cert_path, self.key_path)
        self._require_starttls = require_starttls and tls == "starttls"
        self._cond = threading.Condition()
        self._state = _State()
        self._controller: _SinkController | None = None
        self._live: set[_SinkSMTP] = set()

    # ----------------------------------------------------------------- lifecycle

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The listening port; 0 until the first start()."""
        return self._port

    @property
    def is_running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen: on a free port the first time, on the same port after stop()."""
        if self._controller is not None:
            raise RuntimeError(f"{self!r} is already running")
        sock = _listen(self._host, self._port)
        self._port = sock.getsockname()[1]
        controller = _SinkController(
            _SinkHandler(self),
            sink=self,
            sock=sock,
            hostname=self._host,
            port=self._port,
            ssl_context=self._server_context if self.tls == "implicit" else None,
            server_hostname=SERVER_NAME,
            ident="Postroom SmtpSink",
            tls_context=self._server_context if self.tls == "starttls" else None,
            require_starttls=self._require_starttls,
            auth_require_tls=False,
            authenticator=self._authenticate,
            timeout=60,
        )
        try:
            controller.start()
        except BaseException:
            sock.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        """Close every open session and stop listening: to clients, the server went away."""
        controller = self._controller
        if controller is None:
            return
        self._controller = None
        future = asyncio.run_coroutine_threadsafe(self._close_sessions(), controller.loop)
        future.result(timeout=5)
        controller.stop()

    async def _close_sessions(self) -> None:
        for server in list(self._live):
            if isinstance(server.transport, asyncio.Transport):
                server.transport.abort()
        await asyncio.sleep(0)

    def reset(self) -> None:
        """Forget messages, refusals, rules, failure share, AUTH, drop and hang modes and the
        connection count. TLS mode and the port stay as they are."""
        with self._cond:
            self._state = _State()

    def __enter__(self) -> Self:
        if not self.is_running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        tls = f" tls={self.tls}" if self.tls else ""
        return f"<SmtpSink {self._host}:{self._port}{tls} {state}>"

    # ----------------------------------------------------------------- what arrived

    @property
    def messages(self) -> list[CapturedMessage]:
        """A snapshot of the accepted messages, oldest first."""
        with self._cond:
            return list(self._state.messages)

    @property
    def dropped(self) -> list[CapturedMessage]:
        """Messages received in full by drop_during_data() and never answered."""
        with self._cond:
            return list(self._state.dropped)

    @property
    def refusals(self) -> list[Refusal]:
        """Every non-2xx reply given at RCPT or after DATA, oldest first."""
        with self._cond:
            return list(self._state.refusals)

    @property
    def connections(self) -> int:
        """SMTP sessions opened since the last reset() (a STARTTLS upgrade is not a new one)."""
        with self._cond:
            return self._state.connections

    def wait_until_closed(self, timeout: float = 10.0) -> bool:
        """Block until no session opened since the last reset() is open; False if one still
        is after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._state.live:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[CapturedMessage]:
        """Block until at least `count` messages were accepted, and return them all.

        Raises AssertionError, naming what did arrive, when they do not come in time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._state.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    refused = "; ".join(
                        f"{r.stage} {','.join(r.rcpt_tos)}: {r.reply}" for r in self._state.refusals
                    )
                    raise AssertionError(
                        f"SmtpSink {self._host}:{self._port} expected {count} message(s) within "
                        f"{timeout:g}s but received {len(self._state.messages)} "
                        f"(dropped {len(self._state.dropped)}, refused: {refused or 'none'})"
                    )
                self._cond.wait(remaining)
            return list(self._state.messages)

    # ----------------------------------------------------------------- programming replies

    def set_reply(
        self,
        recipient: RecipientMatcher,
        reply: str,
        *,
        stage: ReplyStage = "rcpt",
        times: int | None = None,
    ) -> None:
        """Answer `reply` (e.g. ``"451 4.7.1 Greylisted"``) for a recipient.

        `recipient` is an exact address (case-insensitive) or a predicate on the address. At
        ``stage="rcpt"`` the address alone is refused; at ``stage="data"`` the reply ends the
        whole transaction after the final dot, when any accepted recipient matches. `times`
        limits the rule to the next n matches (``times=1``: fail once, then accept). Rules set
        later are consulted first; all of them before the built-in prefixes. A 2xx reply
        accepts. A 421 reply also closes the connection.
        """
        if stage not in ("rcpt", "data"):
            raise ValueError(f"stage must be 'rcpt' or 'data', not {stage!r}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for every message")
        _check_reply(reply)
        with self._cond:
            self._state.rules.append(_Rule(_matcher(recipient), reply, stage, times))

    def on_message(
        self,
        hook: Callable[[CapturedMessage], None],
        *,
        recipient: RecipientMatcher | None = None,
        times: int | None = 1,
    ) -> None:
        """Call `hook(message)` when a message (to `recipient`, if given) has been accepted,
        before the sink answers its final dot; for the next `times` such messages (None: all).

        The message is already in `messages` when the hook runs. The hook runs in a thread of
        its own, which may use the database on its own connection (its writes are seen by
        the client's thread in a test with ``transaction=True``); the whole sink waits for it,
        so no other session moves meanwhile. A hook that raises makes the sink answer
        ``451 4.3.0`` and is kept in `hook_errors` (the `smtp_sink` fixture fails the test).
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for every message")
        matches = None if recipient is None else _matcher(recipient)
        with self._cond:
            self._state.hooks.append(_Hook(hook, matches, times))

    @property
    def hook_errors(self) -> list[BaseException]:
        """What the hooks of `on_message()` raised, oldest first."""
        with self._cond:
            return list(self._state.hook_errors)

    def fail_percent(
        self,
        percent: float,
        reply: str = "451 4.3.0 Try again later",
        *,
        seed: int | None = None,
    ) -> None:
        """Refuse about `percent` % of recipients at RCPT with `reply`, drawn at random.

        With a seed the same recipients, in the same order, are refused on every run. Rules and
        built-in prefixes decide first; only the other recipients draw. 0 turns it off.
        """
        if not 0 <= percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        _check_reply(reply)
        with self._cond:
            self._state.fail_share = percent / 100
            self._state.fail_reply = reply
            # Not for security: a reproducible sequence is the point.
            self._state.fail_rng = random.Random(seed)  # noqa: S311

    def require_auth(
        self,
        username: str,
        password: str | None = None,
        *,
        oauth_token: str | None = None,
    ) -> None:
        """Require AUTH before MAIL FROM (530 5.7.0 otherwise).

        PLAIN and LOGIN accept `username` with `password`; XOAUTH2 accepts `username` with the
        bearer `oauth_token`. Anything else gets 535 5.7.8. Without require_auth() every AUTH
        succeeds, so clients that always log in still work.
        """
        with self._cond:
            self._state.credentials = _Credentials(username, password, oauth_token)

    def drop_during_data(self, times: int | None = None) -> None:
        """Read the next messages in full, then close the connection without replying.

        The client sees the connection lost after its final dot and cannot know whether the
        message was delivered. Such messages go to `dropped`, not `messages`. `times=None`
        drops every message until reset(); `times=n` only the next n.
        """
        with self._cond:
            self._state.drops_left = -1 if times is None else times

    def drop_at(self, stage: DropStage, times: int | None = 1) -> None:
        """Close the connection without replying when the next command of `stage` arrives
        (``"mail"``, ``"rcpt"``, ``"data"``), or after the final dot (``"dot"``, as
        `drop_during_data()`): the client sees the connection lost at that point of its
        transaction. `times=None`: every time until reset()."""
        if stage not in DROP_STAGES:
            raise ValueError(f"stage must be one of {DROP_STAGES}, not {stage!r}")
        if stage == "dot":
            self.drop_during_data(times)
            return
        with self._cond:
            self._state.drops_at[stage] = -1 if times is None else times

    def hang(self, enabled: bool = True) -> None:
        """Accept new connections but never send the greeting, until hang(False) or reset().

        Clients see their own timeout expire. Sessions already open carry on.
        """
        with self._cond:
            self._state.hanging = enabled

    def greet(self, reply: str, *, times: int | None = None) -> None:
        """Greet new connections with `reply` (e.g. ``"421 4.3.2 Service not available"``)
        instead of 220, then close them, as a server that turns clients away does. `times`
        limits it to the next n connections; None: every one until reset()."""
        if reply.startswith("2"):
            raise ValueError(f"greet() is for refusals; a 2xx greeting is the default: {reply!r}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for every connection")
        _check_reply(reply)
        with self._cond:
            self._state.greeting = reply
            self._state.greetings_left = -1 if times is None else times

    def tarpit(self, stage: Literal["greeting", "dot"] = "greeting", seconds: float = 60) -> None:
        """Hold the reply at `stage` (the greeting of new connections, or the reply to each
        message's final dot) until `release()`, reset() or `seconds` have passed; then answer
        as usual. A slow server that still works: the client waits, or times out first."""
        if stage not in ("greeting", "dot"):
            raise ValueError(f"stage must be 'greeting' or 'dot', not {stage!r}")
        with self._cond:
            self._state.tarpit_stage = stage
            self._state.tarpit_until = time.monotonic() + seconds

    def offer_pipelining(self, enabled: bool = True) -> None:
        """Say PIPELINING in the EHLO reply, as every real server does (until reset()).
        aiosmtpd reads pipelined commands either way, but does not say so."""
        with self._cond:
            self._state.pipelining = enabled

    def _offers_pipelining(self) -> bool:
        with self._cond:
            return self._state.pipelining

    def slow(self, seconds: float) -> None:
        """Answer every message's final dot `seconds` late, for good (until reset()): a
        server that works, slowly, message after message."""
        with self._cond:
            self._state.slow_seconds = seconds

    def release(self) -> None:
        """End the tarpit: held replies go now, new ones are not held."""
        with self._cond:
            self._state.tarpit_stage = ""
            self._cond.notify_all()

    @property
    def held(self) -> int:
        """Replies the tarpit is holding right now (connections kept waiting)."""
        with self._cond:
            return self._state.held

    async def _tarpit(self, stage: str) -> None:
        """Wait while the tarpit holds `stage`; counted in `held` meanwhile."""
        with self._cond:
            state = self._state
            if state.tarpit_stage != stage:
                return
            state.held += 1
        try:
            while True:
                with self._cond:
                    if (
                        state is not self._state  # reset()
                        or state.tarpit_stage != stage
                        or time.monotonic() >= state.tarpit_until
                    ):
                        return
                await asyncio.sleep(0.05)
        finally:
            with self._cond:
                state.held -= 1

    async def _slow(self) -> None:
        with self._cond:
            seconds = self._state.slow_seconds
        if seconds:
            await asyncio.sleep(seconds)

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this sink's certificate (and verifies the host name)."""
        if self.cert_path is None:
            raise RuntimeError("this sink has no TLS; create it with tls='starttls' or 'implicit'")
        return ssl.create_default_context(cafile=str(self.cert_path))

    # ----------------------------------------------------------------- called by the server

    def _connection_opened(self, server: _SinkSMTP) -> None:
        with self._cond:
            self._state.connections += 1
            self._state.live.add(server)
            self._live.add(server)

    def _connection_closed(self, server: _SinkSMTP) -> None:
        with self._cond:
            self._state.live.discard(server)
            self._live.discard(server)

    def _discount_connection(self) -> None:
        # The controller opens one connection itself at start() to check the server answers.
        with self._cond:
            self._state.connections = max(0, self._state.connections - 1)

    def _is_hanging(self) -> bool:
        with self._cond:
            return self._state.hanging

    def _take_greeting(self) -> str | None:
        """The refusal programmed by greet() for this new connection, or None for 220."""
        with self._cond:
            state = self._state
            if state.greetings_left == 0:
                return None
            if state.greetings_left > 0:
                state.greetings_left -= 1
            return state.greeting

    def _auth_needed(self) -> bool:
        with self._cond:
            return self._state.credentials is not None

    def _take_rule(self, state: _State, stage: ReplyStage, address: str) -> str | None:
        for rule in reversed(state.rules):
            if rule.stage == stage and rule.matches(address):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        state.rules.remove(rule)
                return rule.reply
        return None

    def _rcpt_reply(self, mail_from: str, address: str) -> str | None:
        """The reply for RCPT TO, or None to accept with the default 250."""
        with self._cond:
            state = self._state
            reply = self._take_rule(state, "rcpt", address)
            if reply is None:
                local = _local_part(address)
                for prefix, builtin in BUILTIN_REPLIES.items():
                    if local == prefix or local.startswith(prefix + "+"):
                        reply = builtin
                        break
            if (
                reply is None
                and state.fail_rng is not None
                and state.fail_rng.random() < state.fail_share
            ):
                reply = state.fail_reply
            if reply is not None and not reply.startswith("2"):
                state.refusals.append(Refusal("rcpt", mail_from, [address], reply, _now()))
            return reply

    def _data_reply(self, mail_from: str, rcpt_tos: list[str]) -> str | None:
        with self._cond:
            state = self._state
            for address in rcpt_tos:
                reply = self._take_rule(state, "data", address)
                if reply is not None:
                    if not reply.startswith("2"):
                        state.refusals.append(Refusal("data", mail_from, rcpt_tos, reply, _now()))
                        return reply
                    return None
            return None

    def _take_drop_at(self, stage: str) -> bool:
        with self._cond:
            left = self._state.drops_at.get(stage, 0)
            if left == 0:
                return False
            if left > 0:
                self._state.drops_at[stage] = left - 1
            return True

    def _take_drop(self) -> bool:
        with self._cond:
            if self._state.drops_left == 0:
                return False
            if self._state.drops_left > 0:
                self._state.drops_left -= 1
            return True

    def _record(self, message: CapturedMessage, *, dropped: bool = False) -> None:
        with self._cond:
            (self._state.dropped if dropped else self._state.messages).append(message)
            self._cond.notify_all()

    def _take_hooks(self, message: CapturedMessage) -> list[Callable[[CapturedMessage], None]]:
        with self._cond:
            taken = []
            for hook in list(self._state.hooks):
                if hook.matches is not None and not any(map(hook.matches, message.rcpt_tos)):
                    continue
                taken.append(hook.run)
                if hook.remaining is not None:
                    hook.remaining -= 1
                    if hook.remaining == 0:
                        self._state.hooks.remove(hook)
            return taken

    def _run_hooks(self, message: CapturedMessage) -> bool:
        """Run the hooks `message` meets, each in a thread of its own while the event loop
        waits (blocked on purpose: nothing else moves meanwhile); False if one raised."""
        failed: list[BaseException] = []

        def run(hook: Callable[[CapturedMessage], None]) -> None:
            try:
                hook(message)
            except BaseException as exc:  # handed to the test, which reads hook_errors
                failed.append(exc)
            finally:
                _close_database_connections()

        for hook in self._take_hooks(message):
            thread = threading.Thread(target=run, args=(hook,), name="smtp-sink-hook")
            thread.start()
            thread.join()
        if failed:
            with self._cond:
                self._state.hook_errors.extend(failed)
        return not failed

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """aiosmtpd's authenticator hook for PLAIN and LOGIN."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        with self._cond:
            wanted = self._state.credentials
        if wanted is None or (
            login == wanted.username and wanted.password is not None and password == wanted.password
        ):
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False, message=AUTH_INVALID_REPLY)

    def _check_oauth(self, user: str, token: str) -> bool:
        with self._cond:
            wanted = self._state.credentials
        if wanted is None:
            return True
        return (
            user == wanted.username
            and wanted.oauth_token is not None
            and (token == wanted.oauth_token)
        )


class _SinkSMTP(SMTP):
    """aiosmtpd's SMTP protocol, one per connection, asking the sink how to behave."""

    def __init__(self, handler: _SinkHandler, *, sink: SmtpSink, **kwargs: Any) -> None:
        self._sink = sink
        super().__init__(handler, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Called again with the TLS transport after STARTTLS; that is the same session.
        if self._original_transport is None:
            self._sink._connection_opened(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sink._connection_closed(self)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._sink._is_hanging():
            # Never greet; connection_lost() or stop() cancels this wait.
            await self.loop.create_future()
        await self._sink._tarpit("greeting")
        refusal = self._sink._take_greeting()
        if refusal is not None:
            await self.push(refusal)
            if self.transport is not None:
                self.transport.close()  # push() already closed it after a 421
            return
        await super()._handle_client()

    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self._dropped_at("mail"):
            return
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self._dropped_at("rcpt"):
            return
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        if await self._dropped_at("data"):
            return
        await super().smtp_DATA(arg)

    async def _dropped_at(self, stage: str) -> bool:
        """drop_at(): close without a reply; the session ends when the loss is noticed."""
        if not self._sink._take_drop_at(stage):
            return False
        if self.transport is not None:
            self.transport.close()
        await self.loop.create_future()  # cancelled by connection_lost(): no reply is written
        return True

    async def check_auth_needed(self, caller_method: str) -> bool:
        # Decided per command rather than per server, so require_auth() and reset() act on a
        # running sink (aiosmtpd's auth_required is fixed when the connection opens).
        authenticated = self.session is not None and self.session.authenticated
        if self._sink._auth_needed() and not authenticated:
            await self.push(AUTH_REQUIRED_REPLY)
            return True
        return False

    async def push(self, status: AnyStr) -> None:
        await super().push(status)
        code = status[:3]
        if code in ("421", b"421") and self.transport is not None:
            # 421 means "closing the transmission channel" (RFC 5321 3.8).
            self.transport.close()

    async def auth_XOAUTH2(self, _: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 as Gmail and Outlook speak it: ``user=U^Aauth=Bearer T^A^A``.

        On a bad token the server sends a 334 challenge with a JSON error, reads the client's
        (empty) answer, then replies 535, which is what OAuth2 clients are written against.
        """
        if len(args) == 1:
            answer = await self.challenge_auth("")
            if not isinstance(answer, bytes):  # the client gave up, and was told so
                return AuthResult(success=False, handled=True)
            blob = answer
        else:
            try:
                blob = _b64decode(args[1])
            except ValueError:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        fields = dict(
            part.split("=", 1)
            for part in blob.decode("utf-8", "replace").split("\x01")
            if "=" in part
        )
        scheme, _sep, token = fields.get("auth", "").partition(" ")
        user = fields.get("user", "")
        if scheme.lower() == "bearer" and self._sink._check_oauth(user, token):
            return AuthResult(success=True, auth_data=user)
        error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
        if await self.challenge_auth(json.dumps(error)) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message=AUTH_INVALID_REPLY)


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(str(exc)) from exc


class _SinkHandler:
    """aiosmtpd handler hooks: replies at RCPT and after DATA, and the capture itself."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self._sink._offers_pipelining():
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._sink._rcpt_reply(envelope.mail_from or "", address)
        if reply is None or reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            return reply or "250 2.1.5 OK"
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail_from = envelope.mail_from or ""
        rcpt_tos = list(envelope.rcpt_tos)
        data = envelope.original_content or b""
        if self._sink._take_drop():
            self._sink._record(_capture(server, session, mail_from, rcpt_tos, data), dropped=True)
            if server.transport is not None:
                server.transport.close()
            # Wait to be cancelled by connection_lost(), so no reply is ever written.
            await server.loop.create_future()
        await self._sink._tarpit("dot")
        await self._sink._slow()
        reply = self._sink._data_reply(mail_from, rcpt_tos)
        if reply is not None:
            return reply
        message = _capture(server, session, mail_from, rcpt_tos, data)
        self._sink._record(message)
        if not self._sink._run_hooks(message):
            return "451 4.3.0 A test's hook failed"
        return "250 2.0.0 OK queued"


def _close_database_connections() -> None:
    """A hook's thread ends: so do the database connections it opened (Django's are per
    thread), or PostgreSQL would keep a session of the test run open."""
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        connections.close_all()


def _capture(
    server: SMTP, session: Session, mail_from: str, rcpt_tos: list[str], data: bytes
) -> CapturedMessage:
    raw_peer: Any = session.peer
    peer = (str(raw_peer[0]), int(raw_peer[1])) if isinstance(raw_peer, tuple) else ("", 0)
    transport = server.transport
    tls = transport is not None and transport.get_extra_info("ssl_object") is not None
    auth_login = session.auth_data if isinstance(session.auth_data, str) else None
    message = _PARSER.parsebytes(data)
    return CapturedMessage(
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        data=data,
        message=message,
        peer=peer,
        received_at=_now(),
        auth_login=auth_login if session.authenticated else None,
        tls=tls,
    )


def _listen(host: str, port: int) -> socket.socket:
    # SO_REUSEADDR lets start() after stop() take the same port back at once.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _SinkController(Controller):
    """aiosmtpd's threaded controller, serving our own socket and our SMTP class."""

    def __init__(
        self, handler: _SinkHandler, *, sink: SmtpSink, sock: socket.socket, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self._sink = sink
        self._sock = sock

    def factory(self) -> _SinkSMTP:
        return _SinkSMTP(self.handler, sink=self._sink, loop=self.loop, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def _trigger_server(self) -> None:
        try:
            super()._trigger_server()  # type: ignore[no-untyped-call]
        finally:
            self._sink._discount_connection()


# ----------------------------------------------------------------- certificates

_default_cert: tuple[Path, Path] | None = None
_default_cert_lock = threading.Lock()


def default_test_cert() -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1, made once per process."""
    global _default_cert  # a per-process cache
    with _default_cert_lock:
        if _default_cert is None:
            directory = Path(tempfile.mkdtemp(prefix="postroom-sink-tls-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            _default_cert = make_self_signed_cert(directory)
        return _default_cert


def make_self_signed_cert(
    directory: Path | str,
    *,
    hostnames: tuple[str, ...] = ("localhost",),
    addresses: tuple[str, ...] = ("127.0.0.1", "::1"),
    days: int = 30,
) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` (EC P-256) into `directory`; return their paths.

    The certificate is its own CA (so a client can trust it with ``cafile=cert``) and carries
    the names and addresses as subjectAltName, which hostname checking needs. The extensions
    satisfy OpenSSL's strict verification (``ssl.VERIFY_X509_STRICT``, default from 3.13 on).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Postroom test SMTP sink")])
    now = _now()
    key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    alt_names: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(key_id, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_id),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path
