"""One contract for every transport: SMTP (against the real server), anymail (its test
backend) and capture. Each fixture gives a transport and a way to read what it delivered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from django.core import mail

from sending.models import AccountKind, CapturedMessage
from sending.tests.factories import SendingAccountFactory, rendered
from sending.transports.anymail import AnymailTransport
from sending.transports.base import OutgoingMessage, SendKind, Transport
from sending.transports.factory import transport_for

pytestmark = pytest.mark.django_db

_PARSER = BytesParser(policy=policy.default)


@dataclass
class Delivered:
    recipients: list[str]
    headers: dict[str, str]
    text: str | None
    html: str | None


@dataclass
class Harness:
    make: Callable[[], Transport]
    delivered: Callable[[], list[Delivered]]


def _from_email(message: EmailMessage, recipients: list[str]) -> Delivered:
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    return Delivered(
        recipients=recipients,
        headers={k.lower(): str(v) for k, v in message.items()},
        text=text.get_content() if text is not None else None,
        html=html.get_content() if html is not None else None,
    )


@pytest.fixture
def smtp_harness(smtp_sink) -> Harness:
    account = SendingAccountFactory.create(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    return Harness(
        make=lambda: transport_for(account),
        delivered=lambda: [_from_email(m.message, m.rcpt_tos) for m in smtp_sink.messages],
    )


@pytest.fixture
def anymail_harness(settings) -> Harness:
    settings.ANYMAIL = {}
    mail.outbox = []
    account = SendingAccountFactory.create(kind=AccountKind.ESP, esp_provider="sendgrid")

    def delivered() -> list[Delivered]:
        found = []
        for message in mail.outbox:
            parsed = _PARSER.parsebytes(message.message().as_bytes())
            found.append(_from_email(parsed, list(message.to)))
        return found

    return Harness(
        make=lambda: AnymailTransport(account, backend="anymail.backends.test.EmailBackend"),
        delivered=delivered,
    )


@pytest.fixture
def capture_harness() -> Harness:
    account = SendingAccountFactory.create(kind=AccountKind.CAPTURE)
    return Harness(
        make=lambda: transport_for(account),
        delivered=lambda: [
            _from_email(_PARSER.parsebytes(bytes(c.raw)), list(c.recipients))
            for c in CapturedMessage.objects.filter(account=account).order_by("pk")
        ],
    )


@pytest.fixture(params=["smtp", "anymail", "capture"])
def harness(request) -> Harness:
    found: Harness = request.getfixturevalue(f"{request.param}_harness")
    return found


def message(to: str = "reader@example.test", **kwargs) -> OutgoingMessage:
    return OutgoingMessage.from_rendered(rendered(to=to, **kwargs))


def test_a_message_arrives_with_its_parts(harness):
    sent = message(subject="Contract", text="Plain words.\n", html="<p>Rich words.</p>")
    with harness.make() as transport:
        result = transport.send(sent)
    assert result.kind == SendKind.SENT
    [got] = harness.delivered()
    assert got.recipients == ["reader@example.test"]
    assert got.headers["subject"] == "Contract"
    assert "Plain words." in (got.text or "")
    assert "<p>Rich words.</p>" in (got.html or "")


def test_message_id_and_one_click_unsubscribe_headers_are_kept(harness):
    sent = message()
    with harness.make() as transport:
        assert transport.send(sent).ok
    [got] = harness.delivered()
    assert got.headers["message-id"] == sent.message_id
    assert got.headers["list-unsubscribe"] == sent.header("List-Unsubscribe")
    assert got.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"


def test_one_transport_sends_several_messages(harness):
    with harness.make() as transport:
        results = [transport.send(message(f"r{i}@example.test")) for i in range(3)]
    assert all(r.ok for r in results)
    assert [d.recipients for d in harness.delivered()] == [[f"r{i}@example.test"] for i in range(3)]


def test_close_is_safe_twice_and_before_open(harness):
    transport = harness.make()
    transport.close()
    with transport:
        assert transport.send(message()).ok
    transport.close()
