"""Messages as receiving servers send them back, built around a message we really sent: an
RFC 3464 DSN to its return path, an RFC 5965 ARF report, a person's reply, an unsubscribe
request to the `mailto:` of its List-Unsubscribe."""

from __future__ import annotations

import itertools

_SEQ = itertools.count(1)


def dsn(
    *,
    return_path: str,
    recipient: str,
    message_id: str | None,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "550 5.1.1 User unknown",
) -> bytes:
    n = next(_SEQ)
    returned = f"Message-ID: {message_id}\n" if message_id else ""
    return f"""Return-Path: <>
Delivered-To: {return_path}
From: MAILER-DAEMON@mx.receiver.example (Mail Delivery System)
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn.{n}@mx.receiver.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B{n}"

--B{n}
Content-Type: text/plain

Your message could not be delivered.

--B{n}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.receiver.example

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--B{n}
Content-Type: text/rfc822-headers

{returned}To: {recipient}
Subject: Hello

--B{n}--
""".encode()


def arf(*, recipient: str, message_id: str, return_path: str = "") -> bytes:
    n = next(_SEQ)
    mail_from = f"Original-Mail-From: <{return_path}>\n" if return_path else ""
    return f"""From: abuse@fbl.receiver.example
To: fbl@shop.example
Subject: Abuse report
Message-ID: <arf.{n}@fbl.receiver.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="A{n}"

--A{n}
Content-Type: text/plain

This is an abuse report.

--A{n}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
{mail_from}Original-Rcpt-To: <{recipient}>

--A{n}
Content-Type: text/rfc822-headers

Message-ID: {message_id}
To: {recipient}
Subject: Hello

--A{n}--
""".encode()


def reply(*, sender: str, to: str, message_id: str, text: str) -> bytes:
    n = next(_SEQ)
    return f"""From: {sender}
To: {to}
Subject: Re: Hello
Message-ID: <reply.{n}@people.example>
In-Reply-To: {message_id}
References: {message_id}
Content-Type: text/plain; charset=utf-8

{text}

On Mon, 1 Dec 2026 at 10:00, Shop <news@shop.example> wrote:
> Dear friend,
> here is our news.
""".encode()


def unsubscribe_request(*, sender: str, mailto: str) -> bytes:
    n = next(_SEQ)
    return f"""From: {sender}
To: {mailto}
Subject: unsubscribe
Message-ID: <unsub.{n}@people.example>

unsubscribe
""".encode()
