"""The SMTP sink itself, driven by Python's smtplib as any sending code would drive a server."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

import pytest
from django.conf import settings
from django.core.mail import send_mail

from core.testing.smtp import SmtpSink


def make_message(to: str = "alice@example.com", subject: str = "Spring offer") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <news@shop.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<c1.d1@postroom.test>"
    message["X-Campaign"] = "spring-2026"
    message.set_content("Hello Alice,\nour spring offer.\n")
    message.add_alternative("<p>Hello <b>Alice</b>, our spring offer.</p>", subtype="html")
    return message


def connect(sink: SmtpSink, **kwargs: object) -> smtplib.SMTP:
    return smtplib.SMTP(sink.host, sink.port, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_captures_envelope_and_parsed_message(smtp_sink):
    with connect(smtp_sink) as client:
        refused = client.send_message(
            make_message(), from_addr="bounce@shop.example", to_addrs=["alice@example.com"]
        )

    assert refused == {}
    [captured] = smtp_sink.wait_for(1)
    assert captured.mail_from == "bounce@shop.example"
    assert captured.rcpt_tos == ["alice@example.com"]
    assert captured.subject == "Spring offer"
    assert captured.message_id == "<c1.d1@postroom.test>"
    assert captured.header("X-Campaign") == "spring-2026"
    assert captured.header("X-Missing") is None
    assert captured.text == "Hello Alice,\nour spring offer.\n"
    assert captured.html is not None
    assert "<b>Alice</b>" in captured.html
    assert b"Subject: Spring offer" in captured.data
    assert captured.peer[0] == "127.0.0.1"
    assert captured.tls is False
    assert captured.auth_login is None
    assert smtp_sink.connections == 1


@pytest.mark.parametrize(
    ("local_part", "code", "reply"),
    [
        ("tempfail", 451, b"4.3.0 Try again later"),
        ("nouser", 550, b"5.1.1 User unknown"),
        ("policy", 554, b"5.7.1 Message rejected as spam"),
        ("full", 552, b"5.2.2 Mailbox full"),
    ],
)
def test_builtin_refusals_at_rcpt(smtp_sink, local_part, code, reply):
    refused_address = f"{local_part}+7@example.com"
    with connect(smtp_sink) as client:
        refused = client.sendmail(
            "bounce@shop.example", [refused_address, "ok@example.com"], make_message().as_bytes()
        )

    assert refused == {refused_address: (code, reply)}
    [captured] = smtp_sink.wait_for(1)
    assert captured.rcpt_tos == ["ok@example.com"]
    [refusal] = smtp_sink.refusals
    assert (refusal.stage, refusal.rcpt_tos) == ("rcpt", [refused_address])


def test_message_with_every_recipient_refused_is_not_captured(smtp_sink):
    with connect(smtp_sink) as client, pytest.raises(smtplib.SMTPRecipientsRefused):
        client.sendmail("b@shop.example", ["nouser+1@example.com"], make_message().as_bytes())

    assert smtp_sink.messages == []


def test_set_reply_at_data_stage_refuses_the_message_once(smtp_sink):
    smtp_sink.set_reply("carol@example.com", "554 5.6.0 Content rejected", stage="data", times=1)

    with connect(smtp_sink) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("b@shop.example", ["carol@example.com"], make_message().as_bytes())
        assert (refused.value.smtp_code, refused.value.smtp_error) == (
            554,
            b"5.6.0 Content rejected",
        )
        assert smtp_sink.messages == []
        # times=1: the retry goes through on the same connection.
        client.sendmail("b@shop.example", ["carol@example.com"], make_message().as_bytes())

    assert len(smtp_sink.wait_for(1)) == 1
    assert [r.stage for r in smtp_sink.refusals] == ["data"]


def test_set_reply_with_a_predicate_at_rcpt(smtp_sink):
    smtp_sink.set_reply(lambda address: address.endswith("@grey.example"), "450 4.7.1 Greylisted")

    with connect(smtp_sink) as client:
        refused = client.sendmail(
            "b@shop.example", ["x@grey.example", "y@example.com"], make_message().as_bytes()
        )

    assert refused == {"x@grey.example": (450, b"4.7.1 Greylisted")}


def test_on_message_runs_before_the_reply_for_matching_messages_only(smtp_sink):
    seen: list[tuple[list[str], int]] = []
    smtp_sink.on_message(
        lambda message: seen.append((message.rcpt_tos, len(smtp_sink.messages))),
        recipient=lambda address: address.startswith("carol"),
        times=2,
    )

    with connect(smtp_sink) as client:
        for to in ["alice@example.com", "carol@example.com", "carol2@example.com", "carol3@x.t"]:
            client.sendmail("b@shop.example", [to], make_message(to).as_bytes())
            if to == "carol@example.com":
                # The hook had run, with the message already counted, when the client got
                # its reply.
                assert seen == [(["carol@example.com"], 2)]

    assert seen == [(["carol@example.com"], 2), (["carol2@example.com"], 3)]  # times=2
    assert len(smtp_sink.messages) == 4


def test_a_hook_that_raises_gets_451_and_is_kept(smtp_sink):
    def broken(message):
        raise RuntimeError("a bug in the test's hook")

    smtp_sink.on_message(broken)

    with connect(smtp_sink) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail("b@shop.example", ["a@example.com"], make_message().as_bytes())

    assert refused.value.smtp_code == 451
    assert [str(e) for e in smtp_sink.hook_errors] == ["a bug in the test's hook"]
    smtp_sink.reset()  # or the fixture fails this test with the hook's error


def test_a_421_reply_closes_the_connection(smtp_sink):
    smtp_sink.set_reply("busy@example.com", "421 4.7.0 Too many connections, slow down")

    with connect(smtp_sink) as client:
        client.ehlo()
        client.mail("b@shop.example")
        assert client.rcpt("busy@example.com")[0] == 421
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()


def test_fail_percent_with_a_seed_is_deterministic(smtp_sink):
    recipients = [f"r{n}@example.com" for n in range(40)]

    def refused_once() -> set[str]:
        smtp_sink.reset()
        smtp_sink.fail_percent(30, seed=1234)
        with connect(smtp_sink) as client:
            return set(client.sendmail("b@shop.example", recipients, b"Subject: x\r\n\r\nx\r\n"))

    first, second = refused_once(), refused_once()

    assert first == second
    assert 0 < len(first) < len(recipients)
    assert {r.reply for r in smtp_sink.refusals} == {"451 4.3.0 Try again later"}
    [captured] = smtp_sink.messages
    assert set(captured.rcpt_tos) == set(recipients) - first


def test_auth_required_before_mail_from(smtp_sink):
    smtp_sink.require_auth("shop", "s3cret")

    with connect(smtp_sink) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("b@shop.example", ["a@example.com"], b"Subject: x\r\n\r\nx\r\n")
        assert refused.value.smtp_code == 530
        assert refused.value.smtp_error == b"5.7.0 Authentication required"


def test_auth_wrong_password_gets_535(smtp_sink):
    smtp_sink.require_auth("shop", "s3cret")

    with connect(smtp_sink) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login("shop", "wrong")

    assert refused.value.smtp_code == 535
    assert refused.value.smtp_error == b"5.7.8 Authentication credentials invalid"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_right_password_sends(smtp_sink, mechanism):
    smtp_sink.require_auth("shop", "s3cret")

    with connect(smtp_sink) as client:
        client.ehlo()
        client.user, client.password = "shop", "s3cret"
        authenticate = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        assert client.auth(mechanism, authenticate)[0] == 235
        client.sendmail("b@shop.example", ["a@example.com"], b"Subject: x\r\n\r\nx\r\n")

    [captured] = smtp_sink.wait_for(1)
    assert captured.auth_login == "shop"


def xoauth2(user: str, token: str):
    return lambda challenge=None: f"user={user}\x01auth=Bearer {token}\x01\x01"


def test_xoauth2_accepts_the_configured_token_only(smtp_sink):
    smtp_sink.require_auth("shop@example.com", oauth_token="ya29.good")

    with connect(smtp_sink) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("XOAUTH2", xoauth2("shop@example.com", "ya29.bad"))
        assert refused.value.smtp_code == 535
        assert client.auth("XOAUTH2", xoauth2("shop@example.com", "ya29.good"))[0] == 235
        client.sendmail("shop@example.com", ["a@example.com"], b"Subject: x\r\n\r\nx\r\n")

    assert smtp_sink.wait_for(1)[0].auth_login == "shop@example.com"


def test_stop_and_start_again_on_the_same_port(smtp_sink):
    port = smtp_sink.port
    open_client = connect(smtp_sink)
    open_client.ehlo()

    smtp_sink.stop()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        open_client.noop()  # an open session sees the outage too
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((smtp_sink.host, port), timeout=1)

    smtp_sink.start()
    assert smtp_sink.port == port
    with connect(smtp_sink) as client:
        client.sendmail("b@shop.example", ["a@example.com"], b"Subject: back\r\n\r\nx\r\n")
    assert smtp_sink.wait_for(1)[0].subject == "back"


def test_drop_during_data_loses_the_connection_after_the_final_dot(smtp_sink):
    smtp_sink.drop_during_data(times=1)

    with connect(smtp_sink) as client, pytest.raises(smtplib.SMTPServerDisconnected):
        client.sendmail("b@shop.example", ["a@example.com"], make_message().as_bytes())
    with connect(smtp_sink) as client:
        client.sendmail("b@shop.example", ["a@example.com"], make_message().as_bytes())

    [dropped] = smtp_sink.dropped
    [delivered] = smtp_sink.wait_for(1)
    assert dropped.message_id == delivered.message_id == "<c1.d1@postroom.test>"


def test_hang_accepts_but_never_greets(smtp_sink):
    smtp_sink.hang()

    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=0.5)

    assert smtp_sink.connections == 1


def test_greet_refuses_the_next_connections_then_greets_again(smtp_sink):
    smtp_sink.greet("421 4.3.2 Service not available", times=1)

    with pytest.raises(smtplib.SMTPConnectError) as refused:
        connect(smtp_sink)
    assert refused.value.smtp_code == 421
    assert refused.value.smtp_error == b"4.3.2 Service not available"
    with connect(smtp_sink) as client:  # only the next one was refused
        assert client.noop()[0] == 250


def test_greet_takes_only_refusals():
    sink = SmtpSink()
    with pytest.raises(ValueError, match="for refusals"):
        sink.greet("220 hello")
    with pytest.raises(ValueError, match="an SMTP reply"):
        sink.greet("go away")


def test_wait_for_says_what_arrived_when_it_times_out(smtp_sink):
    with pytest.raises(
        AssertionError, match=r"expected 1 message\(s\) within 0.05s but received 0"
    ):
        smtp_sink.wait_for(1, timeout=0.05)


def strict_context(sink: SmtpSink) -> ssl.SSLContext:
    context = sink.client_ssl_context()
    # Python 3.13 makes strict verification the default; the test certificate must pass it.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def test_starttls_with_the_generated_certificate():
    with SmtpSink(tls="starttls") as sink:
        with connect(sink) as client:
            client.starttls(context=strict_context(sink))
            client.sendmail("b@shop.example", ["a@example.com"], b"Subject: tls\r\n\r\nx\r\n")
        [captured] = sink.wait_for(1)

    assert captured.tls is True
    assert sink.connections == 1


def test_implicit_tls_with_the_generated_certificate():
    with SmtpSink(tls="implicit") as sink:
        with smtplib.SMTP_SSL(sink.host, sink.port, timeout=5, context=strict_context(sink)) as c:
            c.sendmail("b@shop.example", ["a@example.com"], b"Subject: tls\r\n\r\nx\r\n")
        [captured] = sink.wait_for(1)

    assert captured.tls is True


def test_django_mail_goes_over_smtp_into_the_sink(smtp_sink):
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"

    send_mail("Welcome", "Confirm your address.", "postroom@example.com", ["new@example.com"])

    [captured] = smtp_sink.wait_for(1)
    assert captured.rcpt_tos == ["new@example.com"]
    assert captured.subject == "Welcome"
    assert captured.text == "Confirm your address.\n"


def test_pipelining_is_offered_only_when_asked_and_until_reset(smtp_sink):
    def offers() -> bool:
        with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
            client.ehlo()
            return client.has_extn("pipelining")

    assert not offers()  # aiosmtpd reads pipelined commands but does not say so
    smtp_sink.offer_pipelining()
    assert offers()
    smtp_sink.reset()
    assert not offers()
