"""The engine's SMTP client: one kept-open connection that pipelines messages (RFC 2920).

Opening (connect, EHLO, STARTTLS, AUTH) is `SmtpTransport`'s: rare, and checked and classified
like every other send. After that, where the server offers PIPELINING, messages go over the
raw socket: the envelope of the next message (MAIL, RCPT, DATA) travels in the same write as
the body and final dot of the current one, so a message costs one write and one round trip.
Replies are read in order and classified exactly as `SmtpTransport` classifies them; a server
without PIPELINING gets one command at a time through `SmtpTransport.send`.

A message is committed only when its body is written: `stop()` is asked before that, so a
paused campaign starts nothing new (an envelope already sent is abandoned with the connection,
which makes the server discard it).
"""

from __future__ import annotations

import re
import select
import smtplib
import ssl
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from typing import IO, TypeVar

from sending.classify import Stage, classify_exception, classify_reply
from sending.transports.base import (
    OutgoingMessage,
    SendKind,
    SendResult,
    TransportBase,
    TransportError,
)
from sending.transports.smtp import SmtpTransport, mail_options

K = TypeVar("K")

_MAXLINE = 8192  # as smtplib: a longer reply line is the server's error


_DOT_LINE = re.compile(rb"\n\.")


def wire_body(raw: bytes, *, crlf: bool = False) -> bytes:
    """The DATA section for `raw`: CRLF line ends, dot-stuffed, ending in CRLF . CRLF.
    `crlf`: `raw` is known to have CRLF line ends only (OutgoingMessage.crlf), not checked."""
    if not crlf:
        ends = raw.count(b"\r\n")
        if raw.count(b"\n") != ends or raw.count(b"\r") != ends:  # bare CR or LF: normalise
            raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if raw.startswith(b"."):
        raw = b"." + raw
    # Every LF ends a CRLF by now; the regular expression scans twice as fast as replace.
    raw = _DOT_LINE.sub(b"\n..", raw)
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return raw + b".\r\n"


def envelope(conn: smtplib.SMTP, message: OutgoingMessage) -> bytes | SendResult:
    """MAIL FROM, one RCPT TO per recipient and DATA, as one write; or why it cannot go."""
    options = mail_options(conn, message)
    if isinstance(options, SendResult):
        return options
    params = "".join(" " + option for option in options)
    lines = [f"MAIL FROM:<{message.envelope_from}>{params}"]
    lines += [f"RCPT TO:<{address}>" for address in message.recipients]
    lines.append("DATA\r\n")
    return "\r\n".join(lines).encode("utf-8" if "SMTPUTF8" in options else "ascii")


Taken = tuple[K, OutgoingMessage, OutgoingMessage, bytes]  # key, as given, signed, envelope


class WireSmtpTransport(SmtpTransport):
    """`SmtpTransport` plus `send_all`: many messages over one connection, pipelined."""

    _refused: tuple[str, ...] = ()

    def send_all(
        self, source: Iterator[tuple[K, OutgoingMessage]], stop: Callable[[], bool]
    ) -> Generator[tuple[K, SendResult | None], None, None]:
        """Send the messages `source` gives, in order; yield each one's result.

        A message taken from `source` always gets one result; None means it was not tried
        (`stop()` said so before its body went, or the connection ended under it) and may be
        sent later. After an account fault (refused credentials, unreachable server) nothing
        more is taken from `source`.
        """
        with closing(self.steps(source, stop)) as steps:
            for step in steps:
                if step is not None:
                    yield step

    def steps(
        self, source: Iterator[tuple[K, OutgoingMessage]], stop: Callable[[], bool]
    ) -> Generator[tuple[K, SendResult | None] | None, None, None]:
        """`send_all`, yielding None after each write: while the server works on it, the
        caller may serve other connections (see `ConnectionGroup`)."""
        pending: tuple[K, OutgoingMessage] | None = None
        while True:
            if pending is None:
                if stop():
                    return
                pending = next(source, None)
                if pending is None:
                    return
            self._drop_if_unsolicited()
            try:
                self.open()
            except TransportError as exc:
                yield pending[0], exc.result
                return
            conn = self._conn
            assert conn is not None  # noqa: S101 - opened above
            if not conn.has_extn("pipelining"):
                yield from self._one_at_a_time(_chain(pending, source), stop)
                return
            pending = yield from self._pipelined(conn, _chain(pending, source), stop)
            if pending is None:
                return
            # A kept-open connection the server had closed: nothing was sent on it, so the
            # message goes again on a new one.

    def _drop_if_unsolicited(self) -> None:
        """A kept-open connection with something to read before anything was asked (the
        server's goodbye, or bytes no command of ours called for) is not reused: that could
        be read as the reply to the next message."""
        conn = self._conn
        if conn is None or not self._idle:
            return  # none, or `open()` drops it anyway
        sock = conn.sock
        try:
            waiting = sock is None or bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):  # closed under us
            waiting = True
        if waiting or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            self._drop()

    def _one_at_a_time(
        self, source: Iterator[tuple[K, OutgoingMessage]], stop: Callable[[], bool]
    ) -> Generator[tuple[K, SendResult | None], None, None]:
        for key, message in source:
            result = self.send(message)
            yield key, result
            if result.account_fault or stop():
                return

    def _pipelined(
        self,
        conn: smtplib.SMTP,
        source: Iterator[tuple[K, OutgoingMessage]],
        stop: Callable[[], bool],
    ) -> Generator[tuple[K, SendResult | None] | None, None, tuple[K, OutgoingMessage] | None]:
        """The pipelined loop over one connection; None is yielded after each write. Its
        return value is a message to send again on a new connection (the server had closed
        this one), or None when done.

        The connection is left open only when the loop ends with every reply read and no
        transaction open. Left in any other way (an exception, the caller raising at a yield,
        the generator closed or dropped) it is closed: the next batch can never write into an
        open DATA or read a reply meant for an earlier message.
        """
        self._idle = False
        try:
            done = yield from self._pipeline(conn, source, stop)
        finally:
            if self._conn is conn and not self._idle:
                self._drop()
        return done

    def _pipeline(
        self,
        conn: smtplib.SMTP,
        source: Iterator[tuple[K, OutgoingMessage]],
        stop: Callable[[], bool],
    ) -> Generator[tuple[K, SendResult | None] | None, None, tuple[K, OutgoingMessage] | None]:
        sock = conn.sock
        assert sock is not None  # noqa: S101 - an open connection has its socket
        reader = conn.file
        if reader is None:
            reader = conn.file = sock.makefile("rb")
        body: Taken[K] | None = None  # ready for its body (354 came): goes in the next write
        rset = False  # the last envelope failed: RSET goes first in the next write
        while True:
            taken = None
            # Asked before each new message: when the last envelope was refused, there was no
            # 354 at which to ask (a batch of refusals must stop too).
            for key, message in source if body is not None or not stop() else ():
                signed = self.signer(message) if self.signer is not None else message
                head = envelope(conn, signed)
                if isinstance(head, SendResult):  # cannot go on this server at all
                    yield key, head
                    continue
                taken = (key, message, signed, head)
                break
            wire = b"RSET\r\n" if rset else b""
            if body is not None:
                wire += wire_body(body[2].raw, crlf=body[2].crlf)
            if taken is not None:
                wire += taken[3]
            if not wire:
                self._idle = True  # every reply read, no transaction open
                return None
            try:
                sock.sendall(wire)
            except OSError as exc:
                return (yield from self._lost_on_write(body, taken, exc))
            yield None  # the server works on it: the caller may serve other connections
            try:
                if rset:
                    read_reply(reader)
                rset = False
                if body is not None:
                    code, reply = read_reply(reader)
                    result = _after_dot(code, reply, self._refused)
                    if result.ok:
                        self._sent += 1
                    yield body[0], result
                    if result.kind in _CONNECTION_ENDS:
                        self._drop()
                        return (yield from _after_loss(taken, result))
            except OSError as exc:
                self._drop()
                if body is None:
                    return (yield from _after_loss(taken, None))
                # Its dot never got its reply: the server may have the message (ambiguous).
                result = classify_exception(_disconnected(exc), stage="after_dot")
                yield body[0], result
                return (yield from _after_loss(taken, result))
            body = None
            if taken is None:
                self._idle = True  # every reply read, no transaction open
                return None
            outcome = yield from self._envelope_replies(reader, taken)
            if outcome == "retry":
                return taken[0], taken[1]
            if outcome == "gone":
                return None
            if outcome == "failed":
                rset = True
                continue
            # 354: the server waits for the body. The last moment to stop without sending it.
            if stop():
                self._drop()
                yield taken[0], None
                return None
            body = taken

    def _envelope_replies(
        self, reader: IO[bytes], taken: Taken[K]
    ) -> Generator[tuple[K, SendResult | None], None, str]:
        """Read the replies to MAIL, RCPT and DATA: 'ready' at 354; else the message's
        result is yielded and the return says what of the connection: 'failed' (it serves on
        after RSET), 'gone' (it ended), 'retry' (the server had closed it: nothing was sent)."""
        key, _, message, _ = taken
        stage: Stage = "mail"
        failure: SendResult | None = None
        refused: list[str] = []
        try:
            code, reply = read_reply(reader)
            if code != 250:
                failure = classify_reply(code, reply, stage="mail")
            stage = "rcpt"
            for address in message.recipients:
                if failure is not None and failure.kind == SendKind.CONNECTION:
                    break  # 421: the server closes, no more replies come
                code, reply = read_reply(reader)
                if code in (250, 251):
                    continue
                refused.append(address)
                if code == 421 or (failure is None and len(refused) == len(message.recipients)):
                    failure = classify_reply(code, reply, stage="rcpt")
            stage = "data"
            if failure is None or failure.kind != SendKind.CONNECTION:
                code, reply = read_reply(reader)
                if failure is None and code != 354:
                    failure = classify_reply(code, reply, stage="data")
                elif failure is not None and code == 354:
                    # DATA taken with no valid recipient: only leaving ends it safely.
                    self._drop()
                    yield key, failure
                    return "gone"
        except OSError as exc:
            stale = stage == "mail" and self._sent > 0
            self._drop()
            if stale:
                return "retry"
            yield key, classify_exception(_disconnected(exc), stage=stage)
            return "gone"
        if failure is None:
            self._refused = tuple(refused)  # some of several recipients refused
            return "ready"
        yield key, failure
        if failure.account_fault:
            self._drop()
            return "gone"
        return "failed"

    def _lost_on_write(
        self, body: Taken[K] | None, taken: Taken[K] | None, exc: OSError
    ) -> Generator[tuple[K, SendResult | None], None, tuple[K, OutgoingMessage] | None]:
        """A write failed: the server had closed the connection, or broke it."""
        stale = self._sent > 0 and body is None
        self._drop()
        if body is not None:  # its body did not get through: the server discards it
            yield body[0], classify_exception(_disconnected(exc), stage="data")
            if taken is not None:
                yield taken[0], None
            return None
        if taken is None:
            return None
        if stale:  # an idle connection the server had closed: nothing was sent on it
            return taken[0], taken[1]
        yield taken[0], classify_exception(_disconnected(exc), stage="mail")
        return None


_CONNECTION_ENDS = (SendKind.CONNECTION, SendKind.AUTH, SendKind.AMBIGUOUS)


def _after_loss(
    taken: Taken[K] | None, result: SendResult | None
) -> Generator[tuple[K, SendResult | None], None, tuple[K, OutgoingMessage] | None]:
    """The connection ended under `taken` (its envelope had gone, not its body): it goes
    again on a new connection; after an account fault it is given back untried."""
    if taken is None:
        return None
    if result is not None and result.account_fault:
        yield taken[0], None
        return None
    return taken[0], taken[1]


def _chain(
    first: tuple[K, OutgoingMessage], rest: Iterator[tuple[K, OutgoingMessage]]
) -> Iterator[tuple[K, OutgoingMessage]]:
    yield first
    # Not `yield from`: closing this generator must not close `rest`, which goes on
    # feeding the next connection.
    for item in rest:  # noqa: UP028 - see above
        yield item


def _after_dot(code: int, reply: bytes, refused: tuple[str, ...]) -> SendResult:
    if code != 250:
        return classify_reply(code, reply, stage="data")
    said = f"{code} {reply.decode('utf-8', 'replace')}"
    return SendResult(SendKind.SENT, said, code, refused=refused)


def read_reply(reader: IO[bytes]) -> tuple[int, bytes]:
    """One reply, multi-line included (RFC 5321 4.2.1): its code and its lines' text.
    A closed or broken connection raises OSError (smtplib's SMTPServerDisconnected)."""
    lines: list[bytes] = []
    while True:
        line = reader.readline(_MAXLINE + 1)
        if not line:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if len(line) > _MAXLINE:
            return 500, b"Line too long."
        lines.append(line[4:].strip(b" \t\r\n"))
        try:
            code = int(line[:3])
        except ValueError:
            return -1, b"\n".join(lines)
        if line[3:4] != b"-":
            return code, b"\n".join(lines)


def _disconnected(error: OSError) -> smtplib.SMTPServerDisconnected:
    """The error as smtplib raises it, so that `classify_exception` reads it the same way."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return error
    wrapped = smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {error}")
    wrapped.__context__ = error
    return wrapped


class ConnectionGroup(TransportBase):
    """Several connections of one account, driven in turn from one thread: while the server
    works on what one connection wrote, the next connection writes. Messages are shared out
    as the connections become free; the first account fault stops taking new ones."""

    def __init__(self, members: list[WireSmtpTransport]) -> None:
        self.members = members

    def send(self, message: OutgoingMessage) -> SendResult:
        return self.members[0].send(message)

    def send_all(
        self, source: Iterator[tuple[K, OutgoingMessage]], stop: Callable[[], bool]
    ) -> Generator[tuple[K, SendResult | None], None, None]:
        """As `WireSmtpTransport.send_all`, over all the group's connections."""
        halted = False

        def shared() -> Iterator[tuple[K, OutgoingMessage]]:
            while not halted:
                item = next(source, None)
                if item is None:
                    return
                yield item

        feed = shared()
        running = [member.steps(feed, stop) for member in self.members]
        try:
            while running:
                for steps in list(running):
                    for step in steps:
                        if step is None:
                            break  # it wrote: the next connection's turn
                        yield step
                        if step[1] is not None and step[1].account_fault:
                            halted = True
                    else:
                        running.remove(steps)
        finally:
            # Left early (the caller raised or stopped reading): each connection still in a
            # transaction is closed now, not whenever the garbage collector gets to it.
            for steps in running:
                steps.close()

    def close(self) -> None:
        for member in self.members:
            member.close()
