import smtplib
import socket
import ssl

import pytest

from sending.classify import PrivateAddressRefused, classify_exception, classify_reply
from sending.transports.base import SendKind

REPLIES = [
    # code, reply, stage, kind, suppress, enhanced
    (250, "2.0.0 OK queued", "after_dot", SendKind.SENT, False, "2.0.0"),
    (550, "5.1.1 User unknown", "rcpt", SendKind.PERMANENT, True, "5.1.1"),
    (550, "5.1.2 Bad destination system", "rcpt", SendKind.PERMANENT, True, "5.1.2"),
    (556, "5.1.10 Recipient address has null MX", "rcpt", SendKind.PERMANENT, True, "5.1.10"),
    (556, "Domain does not accept mail", "rcpt", SendKind.PERMANENT, True, None),
    (553, "5.1.8 Bad sender's system address", "mail", SendKind.PERMANENT, False, "5.1.8"),
    (554, "5.7.1 Message rejected as spam", "data", SendKind.PERMANENT, False, "5.7.1"),
    (
        550,
        "5.7.26 Unauthenticated email is not accepted",
        "data",
        SendKind.PERMANENT,
        False,
        "5.7.26",
    ),
    (550, "Mailbox unavailable", "rcpt", SendKind.PERMANENT, False, None),
    (451, "4.3.0 Try again later", "rcpt", SendKind.TEMPORARY, False, "4.3.0"),
    (450, "4.2.1 Mailbox busy", "rcpt", SendKind.TEMPORARY, False, "4.2.1"),
    (452, "4.5.3 Too many recipients", "rcpt", SendKind.TEMPORARY, False, "4.5.3"),
    (552, "5.2.2 Mailbox full", "rcpt", SendKind.TEMPORARY, False, "5.2.2"),
    (552, "5.3.4 Message too big", "data", SendKind.PERMANENT, False, "5.3.4"),
    (421, "4.7.0 Too many connections, closing", "mail", SendKind.CONNECTION, False, "4.7.0"),
    (535, "5.7.8 Authentication credentials invalid", "auth", SendKind.AUTH, False, "5.7.8"),
    (534, "5.7.9 Application-specific password required", "auth", SendKind.AUTH, False, "5.7.9"),
    (530, "5.7.0 Authentication required", "mail", SendKind.AUTH, False, "5.7.0"),
]


@pytest.mark.parametrize(("code", "reply", "stage", "kind", "suppress", "enhanced"), REPLIES)
def test_replies_are_classified_by_enhanced_code_first(
    code, reply, stage, kind, suppress, enhanced
):
    result = classify_reply(code, reply, stage=stage)
    assert result.kind == kind
    assert result.suppress is suppress
    assert result.code == code
    assert result.enhanced == enhanced
    assert reply.split()[-1] in result.reply  # the server's words are kept


EXCEPTIONS = [
    (ConnectionRefusedError(111, "refused"), "connect", SendKind.CONNECTION, "refused"),
    (ConnectionResetError(104, "reset"), "mail", SendKind.CONNECTION, "reset"),
    (TimeoutError("timed out"), "connect", SendKind.CONNECTION, "Timed out"),
    (TimeoutError("timed out"), "rcpt", SendKind.CONNECTION, "Timed out"),
    (socket.gaierror(-2, "Name or service not known"), "connect", SendKind.CONNECTION, "not found"),
    (ssl.SSLError(1, "wrong version number"), "starttls", SendKind.CONNECTION, "TLS refused"),
    (
        PrivateAddressRefused("Private address refused: x"),
        "connect",
        SendKind.CONNECTION,
        "Private",
    ),
    (smtplib.SMTPServerDisconnected("gone"), "rcpt", SendKind.CONNECTION, "closed"),
    (smtplib.SMTPServerDisconnected("gone"), "after_dot", SendKind.AMBIGUOUS, "may have been"),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad"), "auth", SendKind.AUTH, "password"),
    (smtplib.SMTPConnectError(421, b"busy"), "connect", SendKind.CONNECTION, "421"),
    (smtplib.SMTPConnectError(554, b"go away"), "connect", SendKind.PERMANENT, "554"),
]


@pytest.mark.parametrize(("exc", "stage", "kind", "words"), EXCEPTIONS)
def test_connection_errors_are_the_accounts_fault_and_a_lost_dot_is_ambiguous(
    exc, stage, kind, words
):
    result = classify_exception(exc, stage=stage)
    assert result.kind == kind
    assert words in result.reply
    assert result.suppress is False
