"""SMTP transport: one connection per account, kept open between messages.

Connections go only to addresses that passed `sending.network` (the checked address, with the
host name kept for TLS SNI and certificate verification), with timeouts, and TLS is always
verified: a test CA is added through SENDING_EXTRA_CA_FILE, never by turning checks off.
"""

from __future__ import annotations

import contextlib
import functools
import re
import smtplib
import socket
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from sending import oauth
from sending.classify import Stage, classify_exception, classify_reply
from sending.models import Security, SendingAccount
from sending.network import connect_checked, smtp_ports, tls_context
from sending.transports.base import (
    OutgoingMessage,
    SendKind,
    SendResult,
    TransportBase,
    TransportError,
)

Signer = Callable[[OutgoingMessage], OutgoingMessage]


@functools.cache
def local_name() -> str:
    """This machine's name for EHLO, looked up once: smtplib would ask DNS on every connection,
    which costs tens of milliseconds where reverse lookups are slow."""
    return socket.getfqdn()


class CheckedSMTP(smtplib.SMTP):
    """smtplib.SMTP that connects only to a checked address; STARTTLS verifies the name."""

    def connect(self, host: str = "localhost", port: int = 0, source_address: Any = None) -> Any:
        # smtplib keeps the name for STARTTLS only when it is given to the constructor.
        self._host = host
        return super().connect(host, port, source_address)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_checked(host, port, timeout, ports=smtp_ports())


class CheckedSMTP_SSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL that connects only to a checked address and verifies the name."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect_checked(host, port, timeout, ports=smtp_ports())
        return self.context.wrap_socket(sock, server_hostname=host)


def _wire(raw: bytes) -> bytes:
    """CRLF line ends and dot-stuffing, ending in CRLF . CRLF (RFC 5321 4.5.2)."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class SmtpTransport(TransportBase):
    def __init__(self, account: SendingAccount, *, signer: Signer | None = None) -> None:
        self.account = account
        self.signer = signer
        self.timeout = float(settings.SENDING_TIMEOUT)
        self._conn: smtplib.SMTP | None = None
        self._sent = 0  # messages accepted over the current connection
        # The connection's protocol state is known: every reply read, no transaction open.
        # Set false before anything is written and true only once the exchange ended cleanly,
        # so a connection left mid-transaction by any path (an exception, an abandoned
        # generator) is never used again: the next user drops it and connects anew.
        self._idle = True

    # ------------------------------------------------------------------ connection

    def open(self) -> None:
        """Connect, greet, upgrade to TLS and authenticate; TransportError says what failed.

        A connection whose state is not known to be idle is dropped first, never reused.
        """
        if self._conn is not None:
            if self._idle:
                return
            self._drop()
        stage: Stage = "connect"
        conn: smtplib.SMTP | None = None
        try:
            conn = self._connect()
            stage = "helo"
            conn.ehlo_or_helo_if_needed()
            if self.account.smtp_security == Security.STARTTLS:
                stage = "starttls"
                if not conn.has_extn("starttls"):
                    raise TransportError(
                        SendResult(
                            SendKind.CONNECTION, "TLS refused: the server offers no STARTTLS"
                        )
                    )
                conn.starttls(context=tls_context())
                conn.ehlo()
            stage = "auth"
            self._authenticate(conn)
        except TransportError:
            _abandon(conn)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            _abandon(conn)
            raise TransportError(classify_exception(exc, stage=stage)) from exc
        except oauth.OAuthError as exc:
            _abandon(conn)
            raise TransportError(SendResult(SendKind.AUTH, str(exc))) from exc
        except BaseException:  # the database, storing a new token: the socket goes too
            _abandon(conn)
            raise
        self._conn, self._sent, self._idle = conn, 0, True

    def _connect(self) -> smtplib.SMTP:
        account = self.account
        helo = settings.SENDING_HELO_NAME or local_name()
        conn: smtplib.SMTP
        if account.smtp_security == Security.TLS:
            conn = CheckedSMTP_SSL(local_hostname=helo, timeout=self.timeout, context=tls_context())
        else:
            conn = CheckedSMTP(local_hostname=helo, timeout=self.timeout)
        code, reply = conn.connect(account.smtp_host, account.smtp_port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, reply)
        return conn

    def _authenticate(self, conn: smtplib.SMTP) -> None:
        account = self.account
        if account.kind == "oauth2":
            now = timezone.now()
            stored = account.oauth_access_token
            token = oauth.access_token(account, now)
            try:
                _xoauth2(conn, account.smtp_username or account.from_email, token)
            except smtplib.SMTPAuthenticationError:
                if token != stored:  # already a fresh token: the refusal stands
                    raise
                # A stored token can be revoked before it expires: one refresh, one more try.
                token = oauth.refresh(account, now)
                _xoauth2(conn, account.smtp_username or account.from_email, token)
        elif account.smtp_username:
            conn.login(account.smtp_username, account.smtp_password)

    def close(self) -> None:
        """QUIT on an idle connection; any other is only closed (a QUIT written into an open
        DATA would become part of a message)."""
        conn, idle = self._conn, self._idle
        self._drop()
        if conn is None or not idle:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            _abandon(conn)

    def _drop(self) -> None:
        """Close the connection without a goodbye; the next message opens a new one."""
        _abandon(self._conn)
        self._conn = None
        self._sent = 0
        self._idle = True  # no connection: nothing can be misread

    # ------------------------------------------------------------------ sending

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            self.open()
        except TransportError as exc:
            return exc.result
        if self.signer is not None:
            message = self.signer(message)
        reused = self._conn is not None and self._sent > 0
        self._idle = False  # until the transaction ends in a known state
        try:
            result = self._transaction(message)
        except _Stale:
            # A kept-open connection the server closed while idle: nothing was sent on it,
            # so one new connection and one more try are safe.
            self._drop()
            if not reused:
                return SendResult(SendKind.CONNECTION, "The server closed the connection")
            return self.send_once(message)
        if result.ok:
            self._sent += 1
        if result.kind in (SendKind.CONNECTION, SendKind.AUTH, SendKind.AMBIGUOUS):
            # The connection cannot be trusted any more; the next message opens a new one.
            self._drop()
        self._idle = True
        return result

    def send_once(self, message: OutgoingMessage) -> SendResult:
        """One try on a fresh connection (already signed message); no stale-retry loop."""
        try:
            self.open()
        except TransportError as exc:
            return exc.result
        self._idle = False
        try:
            result = self._transaction(message)
        except _Stale:
            result = SendResult(SendKind.CONNECTION, "The server closed the connection")
        if result.ok:
            self._sent += 1
            self._idle = True
        else:
            self._drop()
        return result

    def _transaction(self, message: OutgoingMessage) -> SendResult:
        conn = self._conn
        assert conn is not None  # noqa: S101 - opened above
        stage: Stage = "mail"
        options = mail_options(conn, message)
        if isinstance(options, SendResult):
            return options
        try:
            code, reply = conn.mail(message.envelope_from, options)
            if code != 250:
                return self._failed(classify_reply(code, reply, stage=stage))
            stage = "rcpt"
            accepted, refused = self._recipients(conn, message.recipients)
            if not accepted:
                return self._failed(refused[0][1])
            stage = "data"
            code, reply = conn.docmd("DATA")
            if code != 354:
                return self._failed(classify_reply(code, reply, stage=stage))
            conn.send(_wire(message.raw))
            stage = "after_dot"
            code, reply = conn.getreply()
        except (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            if stage == "mail":
                raise _Stale from exc
            self._drop()  # broken mid-transaction: never reused, whatever the classification
            return classify_exception(exc, stage=stage)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return classify_exception(exc, stage=stage)
        if code != 250:
            return classify_reply(code, reply, stage="data")
        said = f"{code} {reply.decode('utf-8', 'replace')}"
        return SendResult(SendKind.SENT, said, code, refused=tuple(a for a, _ in refused))

    def _recipients(
        self, conn: smtplib.SMTP, recipients: tuple[str, ...]
    ) -> tuple[list[str], list[tuple[str, SendResult]]]:
        accepted: list[str] = []
        refused: list[tuple[str, SendResult]] = []
        for address in recipients:
            code, reply = conn.rcpt(address)
            if code in (250, 251):
                accepted.append(address)
            else:
                refused.append((address, classify_reply(code, reply, stage="rcpt")))
        return accepted, refused

    def _failed(self, result: SendResult) -> SendResult:
        """Reset the transaction so the connection serves the next message."""
        if result.kind not in (SendKind.CONNECTION, SendKind.AUTH) and self._conn is not None:
            try:
                self._conn.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        return result


def _xoauth2(conn: smtplib.SMTP, user: str, token: str) -> None:
    blob = oauth.xoauth2(user, token)

    def answer(challenge: bytes | None = None) -> str:
        # On failure the server sends a JSON error as a challenge: answer empty.
        return blob if challenge is None else ""

    conn.ehlo_or_helo_if_needed()
    conn.auth("XOAUTH2", answer)


class _Stale(Exception):
    """The connection was gone before MAIL FROM was answered: nothing was sent on it."""


def mail_options(conn: smtplib.SMTP, message: OutgoingMessage) -> list[str] | SendResult:
    """MAIL FROM parameters: 8BITMIME for 8-bit bodies, SMTPUTF8 for international addresses.

    An international address the server cannot take is a permanent failure of the message.
    """
    options = []
    if not message.raw.isascii() and conn.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    addresses = (message.envelope_from, *message.recipients)
    if not all(address.isascii() for address in addresses):
        if not conn.has_extn("smtputf8"):
            return SendResult(
                SendKind.PERMANENT,
                "The server cannot take international (non-ASCII) addresses (no SMTPUTF8)",
            )
        options.append("SMTPUTF8")
    return options


def _abandon(conn: Any) -> None:
    """Close a connection without a goodbye (it may be broken)."""
    if conn is None:
        return
    with contextlib.suppress(OSError):
        conn.close()
