"""Fetch what came back from a bounce/reply mailbox over IMAP or POP3, in bounded batches.

`poll()` is a pure service over imaplib and poplib: no models. It connects (implicit TLS,
STARTTLS, or plaintext where private hosts are allowed, i.e. on a developer's loopback),
takes at most `batch_size` new messages, parses each (`tracking.feedback.parse`), hands it to
the caller's `handle` and, once handled, moves or deletes it. The caller stores the returned
`PollState` (IMAP: UIDVALIDITY and the last UID done) and passes it back next time.

Nothing is lost:
- a message is moved or deleted only after `handle` returned; when `handle` raises, the batch
  stops there, that message and the ones after it stay where they are and the state does not
  move past them (`PollResult.failed` says which, and why);
- a message larger than `max_message_bytes` is not downloaded: it is left in the mailbox,
  reported in `skipped`, and not offered again (IMAP: the state moves past its UID; POP3: its
  UIDL is remembered while it is on the server);
- if the connection drops after `handle` but before the move (IMAP) or QUIT (POP3), the
  message is offered again: `handle` must be idempotent, keyed by `Incoming.key`.

Connection, TLS and login failures raise `MailboxError` with words a user understands
(`kind` tells a refused password from an unreachable server). With `oauth_token` the login is
XOAUTH2 (IMAP `AUTHENTICATE`, POP3 `AUTH`) with that access token instead of the password;
getting and refreshing the token is the caller's (`tracking.mailboxes`). Connections go through the
sending accounts' guard (`sending.network`): no private address unless allowed.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import poplib
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext as _

from core.digits import is_number
from sending.classify import describe_os_error
from sending.network import connect_checked, private_hosts_allowed, tls_context
from sending.oauth import xoauth2
from tracking.feedback.parse import Feedback, parse

Protocol = Literal["imap", "pop3"]
Security = Literal["tls", "starttls", "none"]
Disposal = Literal["move", "delete"]
ErrorKind = Literal["auth", "connection", "settings", "server"]

DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
FETCH_BYTES = 8 * 1024 * 1024  # at most this much is asked for in one IMAP FETCH
FETCH_COUNT = 500  # and at most this many messages
MAX_SKIPPED = 10_000  # POP3 UIDLs of oversized messages remembered
_LINE_LIMIT = 1024 * 1024  # poplib's 2,048-byte line limit refuses real (if non-conforming) mail


class MailboxError(Exception):
    """The mailbox could not be read; `str()` says why, for the user."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


@dataclass(frozen=True)
class MailboxSettings:
    protocol: Protocol
    host: str
    port: int
    username: str
    password: str
    security: Security = "tls"
    folder: str = "INBOX"  # IMAP: where bounces arrive
    disposal: Disposal = "move"  # POP3 can only delete
    processed_folder: str = "Processed"  # IMAP: where handled messages go with "move"
    batch_size: int = 100
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None  # default: the system's CAs (sending.network)
    oauth_token: str = ""  # an OAuth2 access token: sign in with XOAUTH2, not the password


@dataclass(frozen=True)
class PollState:
    uidvalidity: int | None = None
    last_uid: int = 0
    skipped: frozenset[str] = frozenset()  # POP3: UIDLs left on the server as too large


@dataclass(frozen=True)
class Incoming:
    key: str  # "imap:<uidvalidity>:<uid>" or "pop3:<uidl>": stable across polls
    size: int
    raw: bytes
    feedback: Feedback


@dataclass(frozen=True)
class Skipped:
    key: str
    size: int
    reason: str


@dataclass(frozen=True)
class PollResult:
    state: PollState
    handled: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    failed: str | None = None  # the key of the message `handle` raised on
    error: str = ""  # what it raised
    more: bool = False  # more new messages wait beyond this batch: poll again


Handler = Callable[[Incoming], None]
# Takes a whole fetched chunk at once and commits its effects together, or raises having
# committed nothing (then each message of the chunk goes to the `Handler`, one by one).
BatchHandler = Callable[[list[Incoming]], None]


def poll(
    settings: MailboxSettings,
    state: PollState,
    handle: Handler,
    handle_batch: BatchHandler | None = None,
) -> PollResult:
    """Take one batch of new messages from the mailbox; see the module's docstring.

    With `handle_batch`, each fetched chunk (up to FETCH_COUNT messages and FETCH_BYTES: one
    IMAP FETCH, or that many POP3 RETRs) is handed over at once; when it raises, the chunk's
    messages go to `handle` one by one, so a message that cannot be handled stops the batch
    where it is, as without it. Either way a message is disposed of only after `handle_batch`
    or `handle` returned: IMAP moves or deletes the handled ones in one command at the end,
    POP3 marks them deleted (DELE) and its QUIT at the end deletes them. A message whose
    effects are not committed is never disposed of.

    Raises MailboxError for settings that cannot work, an unreachable server, a TLS failure,
    a refused login, or a connection lost midway (what was handled by then was not moved).
    """
    _check(settings)
    if settings.protocol == "imap":
        return _poll_imap(settings, state, handle, handle_batch)
    return _poll_pop3(settings, state, handle, handle_batch)


def _check(settings: MailboxSettings) -> None:
    if settings.protocol not in ("imap", "pop3"):
        raise MailboxError("settings", _("The protocol must be IMAP or POP3."))
    if settings.security not in ("tls", "starttls", "none"):
        raise MailboxError("settings", _("The security must be TLS, STARTTLS or none."))
    if settings.security == "none" and not private_hosts_allowed():
        raise MailboxError(
            "settings",
            _(
                "The mailbox must be reached over TLS or STARTTLS: "
                "a password is never sent in the clear."
            ),
        )
    if settings.protocol == "pop3" and settings.disposal == "move":
        raise MailboxError(
            "settings", _("POP3 has no folders: handled messages can only be deleted.")
        )
    if settings.batch_size < 1 or settings.max_message_bytes < 1:
        raise MailboxError("settings", _("The batch size and the size limit must be positive."))


# ----------------------------------------------------------------- IMAP


def _poll_imap(
    settings: MailboxSettings,
    state: PollState,
    handle: Handler,
    handle_batch: BatchHandler | None,
) -> PollResult:
    with _imap_session(settings) as client:
        status, _data = client.select(_quoted(settings.folder))
        if status != "OK":
            raise MailboxError(
                "settings",
                _("The folder “%(folder)s” does not exist.") % {"folder": settings.folder},
            )
        uidvalidity = _uidvalidity(client)
        last = state.last_uid if state.uidvalidity == uidvalidity else 0
        _status, found = client.uid("SEARCH", f"UID {last + 1}:*")
        # "n:*" always includes the highest UID, even below n: filter
        new = sorted(uid for uid in _ints(found) if uid > last)
        batch = new[: settings.batch_size]
        sizes = _imap_sizes(client, batch)
        outcome = _Outcome(done=last)
        for chunk in _fetch_chunks(batch, sizes, settings.max_message_bytes):
            bodies = _imap_bodies(
                client, [uid for uid in chunk if sizes[uid] <= settings.max_message_bytes]
            )
            if handle_batch is not None and outcome.hand_all(
                [
                    (f"imap:{uidvalidity}:{uid}", sizes[uid], bodies[uid])
                    for uid in chunk
                    if uid in bodies
                ],
                handle_batch,
            ):
                for uid in chunk:
                    if sizes[uid] > settings.max_message_bytes:
                        outcome.skip(
                            f"imap:{uidvalidity}:{uid}", sizes[uid], settings.max_message_bytes
                        )
                    outcome.done = uid
                continue
            for uid in chunk:
                key = f"imap:{uidvalidity}:{uid}"
                if sizes[uid] > settings.max_message_bytes:
                    outcome.skip(key, sizes[uid], settings.max_message_bytes)
                elif uid in bodies and not outcome.hand(key, sizes[uid], bodies[uid], handle):
                    break
                outcome.done = uid  # skipped, handled, or gone since the search
            if outcome.failed:
                break
        _dispose_imap(client, settings, outcome.handled_ids)
    return outcome.result(PollState(uidvalidity, outcome.done), more=len(new) > len(batch))


@dataclass
class _Outcome:
    done: int = 0
    handled: list[str] = field(default_factory=list)
    handled_ids: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: str | None = None
    error: str = ""

    def skip(self, key: str, size: int, limit: int) -> None:
        reason = _(
            "The message is %(size)s bytes, over the limit of %(limit)s: left in the mailbox."
        ) % {
            "size": size,
            "limit": limit,
        }
        self.skipped.append(Skipped(key, size, reason))

    def hand(self, key: str, size: int, raw: bytes, handle: Handler) -> bool:
        """Hand one message over; False (and the batch stops) when the handler fails."""
        try:
            handle(Incoming(key, size, raw, parse(raw)))
        except Exception as exc:  # the caller's fault (a database down, ...): kept, reported
            self.failed, self.error = key, f"{type(exc).__name__}: {exc}"
            return False
        self.handled.append(key)
        if key.startswith("imap:"):
            self.handled_ids.append(int(key.rsplit(":", 1)[1]))
        return True

    def hand_all(self, items: list[tuple[str, int, bytes]], handle_batch: BatchHandler) -> bool:
        """Hand a chunk over at once; False (nothing counted) when the batch handler fails."""
        if not items:  # all of the chunk too large, or gone: nothing to write
            return True
        incoming = [Incoming(key, size, raw, parse(raw)) for key, size, raw in items]
        try:
            handle_batch(incoming)
        except Exception:  # retried message by message, which says which one fails
            return False
        for message in incoming:
            self.handled.append(message.key)
            if message.key.startswith("imap:"):
                self.handled_ids.append(int(message.key.rsplit(":", 1)[1]))
        return True

    def result(self, state: PollState, *, more: bool) -> PollResult:
        return PollResult(
            state, tuple(self.handled), tuple(self.skipped), self.failed, self.error, more
        )


def _uidvalidity(client: imaplib.IMAP4) -> int | None:
    _status, values = client.response("UIDVALIDITY")
    ints = _ints(values)
    return ints[0] if ints else None


def _imap_sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    if not uids:
        return {}
    _status, data = client.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)")
    sizes = {}
    for item in data:
        text = item[0] if isinstance(item, tuple) else item
        if not isinstance(text, bytes):
            continue
        uid, size = re.search(rb"UID (\d+)", text), re.search(rb"RFC822\.SIZE (\d+)", text)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    # a message expunged since the search has no size: it is simply gone
    return {uid: sizes.get(uid, 0) for uid in uids}


def _fetch_chunks(uids: list[int], sizes: dict[int, int], limit: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    total = 0
    for uid in uids:
        size = sizes[uid] if sizes[uid] <= limit else 0
        if chunk and (total + size > FETCH_BYTES or len(chunk) >= FETCH_COUNT):
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


def _imap_bodies(client: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    if not uids:
        return {}
    _status, data = client.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])")
    bodies = {}
    for at, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        found = re.search(rb"UID (\d+)", item[0])
        if found is None and at + 1 < len(data) and isinstance(data[at + 1], bytes):
            found = re.search(rb"UID (\d+)", data[at + 1])  # UID after the literal
        if found is not None:
            bodies[int(found.group(1))] = item[1]
    return bodies


def _dispose_imap(client: imaplib.IMAP4, settings: MailboxSettings, uids: list[int]) -> None:
    if not uids:
        return
    uid_set = _uid_set(uids)
    capabilities = {str(c).upper() for c in client.capabilities}
    if settings.disposal == "move":
        target = _quoted(settings.processed_folder)
        client.create(target)  # NO when it exists
        if "MOVE" in capabilities:
            _ok(client.uid("MOVE", uid_set, target), _("moving handled messages"))
            return
        _ok(client.uid("COPY", uid_set, target), _("copying handled messages"))
    _ok(
        client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), _("deleting handled messages")
    )
    if "UIDPLUS" in capabilities:
        _ok(client.uid("EXPUNGE", uid_set), _("deleting handled messages"))  # only ours
    else:
        _ok(client.expunge(), _("deleting handled messages"))


@contextlib.contextmanager
def _imap_session(settings: MailboxSettings) -> Iterator[imaplib.IMAP4]:
    context = settings.ssl_context or tls_context()
    client: imaplib.IMAP4
    try:
        if settings.security == "tls":
            client = _CheckedIMAP4SSL(
                settings.host, settings.port, ssl_context=context, timeout=settings.timeout
            )
        else:
            client = _CheckedIMAP4(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                client.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _connection_error(exc) from exc
    try:
        try:
            if settings.oauth_token:
                blob = xoauth2(settings.username, settings.oauth_token).encode()
                # a refusal comes as a challenge (a JSON error): answered empty, then NO
                client.authenticate("XOAUTH2", lambda challenge: b"" if challenge else blob)
            else:
                client.login(settings.username, settings.password)
        except imaplib.IMAP4.abort as exc:
            raise _connection_error(exc) from exc
        except imaplib.IMAP4.error as exc:
            raise _auth_error(exc, oauth=bool(settings.oauth_token)) from exc
        _refresh_capabilities(client)
        yield client
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise _connection_error(exc) from exc
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            "server", _("The server refused a command: %(error)s") % {"error": _said(exc)}
        ) from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def _refresh_capabilities(client: imaplib.IMAP4) -> None:
    """What the server offers once logged in (MOVE, UIDPLUS): imaplib keeps the list it was
    given before, which servers keep short (Dovecot names neither there). Servers send it
    with their answer to LOGIN, which imaplib keeps; else it is asked for."""
    _typ, given = client.response("CAPABILITY")
    if not given or not isinstance(given[-1], bytes):
        _status, given = client.capability()
    words = given[-1].decode("ascii", "replace").upper().split() if given and given[-1] else []
    if words:
        client.capabilities = tuple(words)


class _CheckedIMAP4(imaplib.IMAP4):
    """IMAP4 whose connection goes through the private-address guard."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return connect_checked(self.host, self.port, timeout or 30.0)


class _CheckedIMAP4SSL(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = connect_checked(self.host, self.port, timeout or 30.0)
        wrapped: socket.socket = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        return wrapped


# ----------------------------------------------------------------- POP3


def _poll_pop3(
    settings: MailboxSettings,
    state: PollState,
    handle: Handler,
    handle_batch: BatchHandler | None,
) -> PollResult:
    with _pop3_session(settings) as client:
        _status, listing, _octets = client.list()
        _status, uidls, _octets = client.uidl()
        sizes = _pairs(listing)
        names = {number: uidl.decode("ascii", "replace") for number, uidl in _pairs_raw(uidls)}
        waiting = [n for n in sorted(sizes) if names.get(n) not in state.skipped]
        batch = waiting[: settings.batch_size]
        outcome = _Outcome()
        left: set[str] = set()
        for chunk in _fetch_chunks(batch, sizes, settings.max_message_bytes):
            keys = {number: f"pop3:{names.get(number, number)}" for number in chunk}
            wanted = []
            for number in chunk:
                if sizes[number] > settings.max_message_bytes:
                    outcome.skip(keys[number], sizes[number], settings.max_message_bytes)
                    left.add(names.get(number, str(number)))
                else:
                    wanted.append(number)
            bodies = {number: _pop3_body(client, number) for number in wanted}
            items = [(keys[number], sizes[number], bodies[number]) for number in wanted]
            if handle_batch is not None and outcome.hand_all(items, handle_batch):
                for number in wanted:
                    client.dele(number)  # committed by QUIT, when the session ends cleanly
                continue
            for number in wanted:
                if not outcome.hand(keys[number], sizes[number], bodies[number], handle):
                    break
                client.dele(number)
            if outcome.failed:
                break
    on_server = set(names.values())
    skipped: set[str] = set(state.skipped & on_server) | left
    if len(skipped) > MAX_SKIPPED:
        skipped = set(sorted(skipped)[-MAX_SKIPPED:])
    more = len(waiting) > len(batch)
    return outcome.result(PollState(skipped=frozenset(skipped)), more=more)


def _pop3_body(client: poplib.POP3, number: int) -> bytes:
    _status, lines, _octets = client.retr(number)
    return b"\r\n".join(lines) + b"\r\n"


@contextlib.contextmanager
def _pop3_session(settings: MailboxSettings) -> Iterator[poplib.POP3]:
    context = settings.ssl_context or tls_context()
    client: poplib.POP3
    try:
        if settings.security == "tls":
            client = _CheckedPOP3SSL(
                settings.host, settings.port, context=context, timeout=settings.timeout
            )
        else:
            client = _CheckedPOP3(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                client.stls(context=context)
    except (OSError, poplib.error_proto) as exc:
        raise _connection_error(exc) from exc
    try:
        try:
            if settings.oauth_token:
                _pop3_xoauth2(client, settings.username, settings.oauth_token)
            else:
                client.user(settings.username)
                client.pass_(settings.password)
        except poplib.error_proto as exc:
            raise _auth_error(exc, oauth=bool(settings.oauth_token)) from exc
        yield client
        client.quit()
    except OSError as exc:
        raise _connection_error(exc) from exc
    except poplib.error_proto as exc:
        raise MailboxError(
            "server", _("The server refused a command: %(error)s") % {"error": _said(exc)}
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            client.close()


def _pop3_xoauth2(pop3: poplib.POP3, user: str, token: str) -> None:
    """AUTH XOAUTH2 (RFC 5034 SASL, Gmail's and Outlook's mechanism): the answer after the
    server's empty challenge. A refusal comes as a second challenge (a JSON error), answered
    empty, and then -ERR, which raises error_proto."""
    answer = base64.b64encode(xoauth2(user, token).encode()).decode("ascii")
    client: Any = pop3  # poplib has no AUTH: its line methods, typed private
    client._putcmd("AUTH XOAUTH2")
    said, _octets = client._getline()
    if not said.startswith(b"+ ") and said != b"+":
        raise poplib.error_proto(said)
    client._putcmd(answer)
    said, _octets = client._getline()
    if said.startswith(b"+ ") or said == b"+":
        client._putcmd("")
        said, _octets = client._getline()
    if not said.startswith(b"+OK"):
        raise poplib.error_proto(said)


class _LongLines:
    """poplib refuses lines over 2,048 bytes; mail has them (unwrapped HTML)."""

    file: Any

    def _getline(self) -> tuple[bytes, int]:
        line: bytes = self.file.readline(_LINE_LIMIT + 1)
        if len(line) > _LINE_LIMIT:
            raise poplib.error_proto("line too long")
        if not line:
            raise poplib.error_proto("-ERR EOF")
        octets = len(line)
        if line[-2:] == b"\r\n":
            return line[:-2], octets
        if line[:1] == b"\r":
            return line[1:-1], octets
        return line[:-1], octets


class _CheckedPOP3(_LongLines, poplib.POP3):
    def _create_socket(self, timeout: float) -> socket.socket:
        return connect_checked(self.host, self.port, timeout or 30.0)


class _CheckedPOP3SSL(_LongLines, poplib.POP3_SSL):
    context: ssl.SSLContext

    def _create_socket(self, timeout: float) -> socket.socket:
        sock = connect_checked(self.host, self.port, timeout or 30.0)
        wrapped: socket.socket = self.context.wrap_socket(sock, server_hostname=self.host)
        return wrapped


# ----------------------------------------------------------------- helpers


def _connection_error(exc: BaseException) -> MailboxError:
    if isinstance(exc, OSError):
        return MailboxError("connection", describe_os_error(exc))
    return MailboxError(
        "connection", _("The connection to the mailbox failed: %(error)s") % {"error": _said(exc)}
    )


def _auth_error(exc: BaseException, *, oauth: bool = False) -> MailboxError:
    if oauth:
        return MailboxError(
            "auth",
            _(
                "The server refused the OAuth2 access token (%(error)s): connect the mailbox "
                "to its provider again, or check the user name and the client's mail access."
            )
            % {"error": _said(exc)},
        )
    return MailboxError(
        "auth",
        _("The server refused the user name or password (%(error)s).") % {"error": _said(exc)},
    )


def _said(exc: BaseException) -> str:
    """What the server said, as text: imaplib and poplib put bytes in their exceptions."""
    value = exc.args[0] if exc.args else exc
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:500]


def _ok(answer: tuple[str, Any], doing: str) -> None:
    status, data = answer
    if status != "OK":
        raise MailboxError(
            "server", _("The server refused %(doing)s: %(said)s") % {"doing": doing, "said": data}
        )


def _ints(data: list[Any] | None) -> list[int]:
    numbers: list[int] = []
    for item in data or []:
        if isinstance(item, bytes):
            numbers.extend(int(part) for part in item.split() if is_number(part))
    return numbers


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pairs_raw(lines: list[bytes]) -> Iterator[tuple[int, bytes]]:
    for line in lines:
        number, _sep, value = line.partition(b" ")
        if is_number(number):
            yield int(number), value.strip()


def _pairs(lines: list[bytes]) -> dict[int, int]:
    return {n: int(v) for n, v in _pairs_raw(lines) if is_number(v)}
