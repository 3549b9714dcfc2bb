"""One contract for every transport, driven the way the delivery engine drives them
(`engine_transport_for` and the interface's `send_all`, the engine's own path):

- smtp: the engine's pipelining client (`ConnectionGroup` of `WireSmtpTransport`) against the
  real aiosmtpd server (`SmtpSink`), its replies and misbehaviour scripted per outcome;
- every e-mail service of `EspProvider`: the real anymail backend against a loopback server
  that replays the service's recorded answers (`payloads/<provider>/`, see `esp_replay`);
- capture: stores every message in the database.

`CONTRACT` is the table: for each (transport, outcome) pair, the `SendResult` the engine gets,
or why that transport cannot meet that outcome at all. Every pair is in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

# The engine's own loop over a transport, so that the contract is the engine's path exactly.
from core.testing.http import ReplayServer
from core.testing.smtp import SmtpSink
from sending.models import AccountKind, CapturedMessage, EspProvider
from sending.reasons import CREDENTIALS_REFUSED as CREDENTIALS
from sending.reasons import SENDER_REFUSED as SENDER
from sending.tests import esp_replay
from sending.tests.factories import SendingAccountFactory, rendered
from sending.transports.base import OutgoingMessage, SendKind, SendResult, Transport
from sending.transports.factory import engine_transport_for
from sending.transports.smtp_wire import ConnectionGroup, WireSmtpTransport

pytestmark = [
    pytest.mark.django_db,
    # anymail still ships SendGrid but no longer supports it officially (anymail issue 432).
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

_PARSER = BytesParser(policy=policy.default)
READER = "reader@example.test"
# How long a transport waits for a server that says nothing, in the timeout outcomes.
SHORT_TIMEOUT = 0.5


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Expect:
    """The result the engine gets: its kind, the server's code and enhanced code (HTTP status
    for a service), and whether the address is to be suppressed."""

    kind: SendKind
    code: int | None = None
    enhanced: str | None = None
    suppress: bool = False
    says: str = ""  # words the reply starts with (what the account's error reads)


@dataclass(frozen=True)
class Cannot:
    """This transport cannot meet this outcome; `why` says so in words."""

    why: str


OUTCOMES = (
    "accepted",
    "temporary",  # SMTP 4xx at RCPT; a service's 429 (rate limited: the account backs off)
    "unknown_address",  # SMTP 550 5.1.1; a service's invalid recipient
    "policy",  # SMTP 5.7.x; a service's refusal by its rules
    "auth",  # SMTP 535 at AUTH; a service's 401/403
    "sender_refused",  # the From address is not allowed (not verified with the service)
    "provider_daily_limit",  # the provider's own sending limit for the day is used up
    "unavailable",  # SMTP 421 at the greeting; a service's 5xx
    "dropped_after_data",  # the message went, the connection broke before the answer
    "timeout",  # the server says nothing at all
    "timeout_after_data",  # the server takes the message and says nothing
)

SENT, TEMPORARY, PERMANENT = SendKind.SENT, SendKind.TEMPORARY, SendKind.PERMANENT
AUTH, CONNECTION, AMBIGUOUS = SendKind.AUTH, SendKind.CONNECTION, SendKind.AMBIGUOUS
SUPPRESSED, QUOTA = SendKind.SUPPRESSED, SendKind.QUOTA

NO_STAGE_AFTER_BODY = Cannot(
    "HTTP has no reply before the request: the whole request goes first, so a service that "
    "says nothing is its `timeout` case"
)
SERVICE_LIMIT_IS_A_RATE = Cannot(
    "a service answers a used-up quota as a rate limit (429, or SES's Throttling): its "
    "`temporary` row, the account backing off and asking again"
)
NEVER_REFUSES = Cannot("capture stores every message in the database: nothing refuses it")
NO_SENDER_ANSWER = Cannot(
    "Brevo documents no answer of its own for an unverified sender (its 403 permission_denied "
    "is the account not activated, the `policy` row)"
)

# Services: the code is the HTTP status. A 429 or a 5xx is the service's (the account's)
# problem, not the recipient's: the account backs off as after SMTP's 421, no attempt spent.
# Anymail reads Postmark's 422 recipient errors into per-recipient statuses ("invalid",
# "rejected"), which carry no code: "invalid" (and the documented invalid-address answers of
# SendGrid, Mailgun, Brevo) suppresses the address like SMTP's 5.1.x; "rejected" (Postmark's
# inactive recipient: on its own suppression list) ends the delivery as suppressed. A service
# that refuses the From address or its domain (not verified with it) refuses every message of
# the account: the account goes to error, like refused credentials, saying which. Amazon
# SES's "Illegal address" names no address and suppresses none; its "not verified" naming
# only the recipient is its sandbox refusing that recipient (`policy`). A request that went
# and got no answer (the connection closed, or no answer in time) is ambiguous, as after
# SMTP's dot.
CONTRACT: dict[str, dict[str, Expect | Cannot]] = {
    "smtp": {
        "accepted": Expect(SENT, 250),
        "temporary": Expect(TEMPORARY, 451, "4.7.1"),
        "unknown_address": Expect(PERMANENT, 550, "5.1.1", suppress=True),
        "policy": Expect(PERMANENT, 550, "5.7.1"),
        "auth": Expect(AUTH, 535, "5.7.8"),
        # Postfix refuses a sender not owned by the user at RCPT; classify reads it as policy.
        "sender_refused": Expect(PERMANENT, 553, "5.7.1"),
        "provider_daily_limit": Expect(QUOTA, 550, "5.4.5"),  # Gmail's, at RCPT
        "unavailable": Expect(CONNECTION, 421, "4.3.2"),
        "dropped_after_data": Expect(AMBIGUOUS),
        "timeout": Expect(CONNECTION),  # no greeting
        "timeout_after_data": Expect(AMBIGUOUS),  # no reply to the final dot
    },
    EspProvider.AMAZON_SES: {
        "accepted": Expect(SENT),
        "temporary": Expect(CONNECTION, 429),  # TooManyRequestsException
        "unknown_address": Expect(PERMANENT, 400),  # BadRequestException: Illegal address
        "policy": Expect(PERMANENT, 400),  # MessageRejected: recipient not verified (sandbox)
        "auth": Expect(AUTH, 403, says=CREDENTIALS),  # UnrecognizedClientException
        "sender_refused": Expect(AUTH, 400, says=SENDER),  # MessageRejected: From not verified
        "provider_daily_limit": SERVICE_LIMIT_IS_A_RATE,
        "unavailable": Expect(CONNECTION, 500),  # InternalFailure
        "dropped_after_data": Expect(AMBIGUOUS),
        "timeout": Expect(AMBIGUOUS),
        "timeout_after_data": NO_STAGE_AFTER_BODY,
    },
    EspProvider.SENDGRID: {
        "accepted": Expect(SENT),
        "temporary": Expect(CONNECTION, 429),
        "unknown_address": Expect(PERMANENT, 400, suppress=True),
        "policy": Expect(AUTH, 403, says=SENDER),  # not a verified Sender Identity
        "auth": Expect(AUTH, 401, says=CREDENTIALS),
        "sender_refused": Expect(AUTH, 403, says=SENDER),
        "provider_daily_limit": SERVICE_LIMIT_IS_A_RATE,
        "unavailable": Expect(CONNECTION, 500),
        "dropped_after_data": Expect(AMBIGUOUS),
        "timeout": Expect(AMBIGUOUS),
        "timeout_after_data": NO_STAGE_AFTER_BODY,
    },
    EspProvider.MAILGUN: {
        "accepted": Expect(SENT),
        "temporary": Expect(CONNECTION, 429),
        "unknown_address": Expect(PERMANENT, 400, suppress=True),
        "policy": Expect(AUTH, 403, says=SENDER),  # the domain is not allowed to send
        "auth": Expect(AUTH, 401, says=CREDENTIALS),
        "sender_refused": Expect(AUTH, 404, says=SENDER),  # Domain not found
        "provider_daily_limit": SERVICE_LIMIT_IS_A_RATE,
        "unavailable": Expect(CONNECTION, 500),
        "dropped_after_data": Expect(AMBIGUOUS),
        "timeout": Expect(AMBIGUOUS),
        "timeout_after_data": NO_STAGE_AFTER_BODY,
    },
    EspProvider.POSTMARK: {
        "accepted": Expect(SENT),
        "temporary": Expect(CONNECTION, 429),
        "unknown_address": Expect(PERMANENT, suppress=True),  # 422, 300: invalid 'To' address
        "policy": Expect(SUPPRESSED),  # 422, ErrorCode 406: inactive recipient
        "auth": Expect(AUTH, 401, says=CREDENTIALS),
        "sender_refused": Expect(AUTH, 422, says=SENDER),  # ErrorCode 400: no Sender Signature
        "provider_daily_limit": SERVICE_LIMIT_IS_A_RATE,
        "unavailable": Expect(CONNECTION, 500),
        "dropped_after_data": Expect(AMBIGUOUS),
        "timeout": Expect(AMBIGUOUS),
        "timeout_after_data": NO_STAGE_AFTER_BODY,
    },
    EspProvider.BREVO: {
        "accepted": Expect(SENT),
        "temporary": Expect(CONNECTION, 429),
        "unknown_address": Expect(PERMANENT, 400, suppress=True),
        "policy": Expect(AUTH, 403, says=CREDENTIALS),  # permission_denied: not activated
        "auth": Expect(AUTH, 401, says=CREDENTIALS),
        "sender_refused": NO_SENDER_ANSWER,
        "provider_daily_limit": SERVICE_LIMIT_IS_A_RATE,
        "unavailable": Expect(CONNECTION, 500),
        "dropped_after_data": Expect(AMBIGUOUS),
        "timeout": Expect(AMBIGUOUS),
        "timeout_after_data": NO_STAGE_AFTER_BODY,
    },
    "capture": {
        "accepted": Expect(SENT),
        "temporary": NEVER_REFUSES,
        "unknown_address": NEVER_REFUSES,
        "policy": NEVER_REFUSES,
        "auth": NEVER_REFUSES,  # no credentials
        "sender_refused": NEVER_REFUSES,
        "provider_daily_limit": NEVER_REFUSES,
        "unavailable": NEVER_REFUSES,  # no server
        "dropped_after_data": NEVER_REFUSES,
        "timeout": NEVER_REFUSES,
        "timeout_after_data": NEVER_REFUSES,
    },
}

TRANSPORTS = tuple(CONTRACT)
RUNNABLE = [
    pytest.param(transport, outcome, id=f"{transport}-{outcome}")
    for transport, outcomes in CONTRACT.items()
    for outcome, expected in outcomes.items()
    if isinstance(expected, Expect)
]


def test_the_table_names_every_transport_and_every_outcome():
    assert set(TRANSPORTS) == {"smtp", "capture", *EspProvider.values}
    for transport, outcomes in CONTRACT.items():
        assert tuple(outcomes) == OUTCOMES, transport
        for expected in outcomes.values():
            assert isinstance(expected, Expect) or expected.why, transport


@pytest.mark.parametrize("provider", EspProvider.values)
def test_every_service_has_every_recorded_answer(provider):
    recorded = {path.stem for path in (esp_replay.PAYLOADS / provider).glob("*.json")}
    some = {name for name, who in esp_replay.RECORDED_BY_SOME.items() if provider in who}
    assert recorded == set(esp_replay.RECORDED) | some


# ----------------------------------------------------------------------------- harnesses


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
    arrange: Callable[[str], None]  # sets the server up to answer with an outcome


def _from_email(message: EmailMessage, recipients: list[str]) -> Delivered:
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    return Delivered(
        recipients=recipients,
        headers={k.lower(): str(v) for k, v in message.items()},
        text=text.get_content() if text is not None else None,
        html=html.get_content() if html is not None else None,
    )


def smtp_harness(sink: SmtpSink, settings) -> Harness:
    account = SendingAccountFactory.create(smtp_host=sink.host, smtp_port=sink.port)

    def arrange(outcome: str) -> None:
        if outcome == "temporary":
            sink.set_reply(READER, "451 4.7.1 Greylisted, try again later")
        elif outcome == "unknown_address":
            sink.set_reply(READER, "550 5.1.1 <reader@example.test>: User unknown")
        elif outcome == "policy":
            sink.set_reply(READER, "550 5.7.1 Message rejected due to content restrictions")
        elif outcome == "auth":
            sink.require_auth("mailer", "the-right-one")
            account.smtp_username, account.smtp_password = "mailer", "a-wrong-one"
            account.save()
        elif outcome == "sender_refused":
            sink.set_reply(
                READER, "553 5.7.1 <news@acme.example>: Sender address rejected: not owned by user"
            )
        elif outcome == "provider_daily_limit":
            sink.set_reply(READER, "550 5.4.5 Daily user sending quota exceeded.")
        elif outcome == "unavailable":
            sink.greet("421 4.3.2 Service not available, closing transmission channel")
        elif outcome == "dropped_after_data":
            sink.drop_during_data()
        elif outcome == "timeout":
            settings.SENDING_TIMEOUT = SHORT_TIMEOUT
            sink.hang()
        elif outcome == "timeout_after_data":
            settings.SENDING_TIMEOUT = SHORT_TIMEOUT
            sink.tarpit("dot", seconds=10)
        elif outcome != "accepted":
            raise ValueError(f"no way to make the SMTP server answer {outcome!r}")

    return Harness(
        make=lambda: engine_transport_for(account),
        delivered=lambda: [_from_email(m.message, m.rcpt_tos) for m in sink.messages],
        arrange=arrange,
    )


def esp_harness(provider: str, server: ReplayServer, settings, monkeypatch) -> Harness:
    account = esp_replay.point_at(provider, server, settings, monkeypatch)
    recorded = {
        "temporary": "rate_limited",
        "unknown_address": "invalid_recipient",
        "policy": "policy",
        "auth": "auth_refused",
        "sender_refused": "sender_refused",
        "unavailable": "server_error",
    }

    def arrange(outcome: str) -> None:
        if outcome in recorded:
            server.play(esp_replay.recorded(provider, recorded[outcome]))
        elif outcome == "dropped_after_data":
            server.drop()
        elif outcome == "timeout":
            esp_replay.wait_at_most(SHORT_TIMEOUT, settings, monkeypatch)
            server.stall()
        elif outcome != "accepted":
            raise ValueError(f"no way to make {provider} answer {outcome!r}")

    def delivered() -> list[Delivered]:
        found = []
        for request in server.requests:
            sent = esp_replay.read_request(provider, request)
            headers = sent.headers | {"subject": sent.subject}
            found.append(Delivered(sent.recipients, headers, sent.text, sent.html))
        return found

    return Harness(make=lambda: engine_transport_for(account), delivered=delivered, arrange=arrange)


def capture_harness() -> Harness:
    account = SendingAccountFactory.create(kind=AccountKind.CAPTURE)
    return Harness(
        make=lambda: engine_transport_for(account),
        delivered=lambda: [
            _from_email(_PARSER.parsebytes(bytes(c.raw)), list(c.recipients))
            for c in CapturedMessage.objects.filter(account=account).order_by("pk")
        ],
        arrange=lambda outcome: None,
    )


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


def harness_for(name: str, request: pytest.FixtureRequest) -> Harness:
    settings = request.getfixturevalue("settings")
    if name == "smtp":
        return smtp_harness(request.getfixturevalue("smtp_sink"), settings)
    if name == "capture":
        return capture_harness()
    server = request.getfixturevalue("replay_server")
    return esp_harness(name, server, settings, request.getfixturevalue("monkeypatch"))


@pytest.fixture(params=TRANSPORTS)
def harness(request) -> Harness:
    return harness_for(request.param, request)


def engine_send(transport: Transport, *messages: OutgoingMessage) -> list[SendResult | None]:
    """Send as the engine does: the same function, the same order, no stop."""
    results = transport.send_all(iter(enumerate(messages)), lambda: False)
    return [result for _, result in results]


def message(to: str = READER, **kwargs) -> OutgoingMessage:
    return OutgoingMessage.from_rendered(rendered(to=to, **kwargs))


# ----------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(("transport", "outcome"), RUNNABLE)
def test_each_outcome_reaches_the_engine_classified(transport, outcome, request):
    expected = CONTRACT[transport][outcome]
    assert isinstance(expected, Expect)
    harness = harness_for(transport, request)
    harness.arrange(outcome)
    sent = message(from_email=esp_replay.SENDER)
    with harness.make() as opened:
        [result] = engine_send(opened, sent)
    assert result is not None
    got = (result.kind, result.code, result.enhanced, result.suppress)
    assert got == (expected.kind, expected.code, expected.enhanced, expected.suppress), result.reply
    assert result.reply.startswith(expected.says), result.reply
    assert result.reply  # a reply or an error in words for the attempt row
    assert "secret-key" not in result.reply
    if transport in EspProvider.values:
        # The answer came from the replayed service, not from anywhere else (a real service, or
        # a connection error that would pass for the dropped and timeout rows).
        [asked] = request.getfixturevalue("replay_server").requests
        assert esp_replay.read_request(transport, asked).recipients == [READER]


def test_smtp_is_the_engines_pipelining_client(smtp_sink):
    account = SendingAccountFactory.create(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    transport = engine_transport_for(account)
    assert isinstance(transport, ConnectionGroup)
    assert all(isinstance(member, WireSmtpTransport) for member in transport.members)


def test_capture_takes_what_a_server_would_refuse():
    refused_elsewhere = [message("nouser+1@example.test"), message("policy+1@example.test")]
    with capture_harness().make() as transport:
        results = engine_send(transport, *refused_elsewhere)
    assert [r.kind if r else None for r in results] == [SENT, SENT]


@pytest.mark.parametrize("provider", EspProvider.values)
def test_the_service_gets_the_recipient_subject_and_our_headers(
    provider, replay_server, settings, monkeypatch
):
    account = esp_replay.point_at(provider, replay_server, settings, monkeypatch)
    sent = message(from_email=esp_replay.SENDER, subject="Spring offer")
    with engine_transport_for(account) as transport:
        [result] = engine_send(transport, sent)
    assert result is not None
    assert result.kind == SendKind.SENT, result.reply
    [request] = replay_server.requests
    got = esp_replay.read_request(provider, request)
    assert got.recipients == [READER]
    assert got.subject == "Spring offer"
    assert got.headers["message-id"] == sent.message_id
    assert got.headers["list-unsubscribe"] == sent.header("List-Unsubscribe")
    assert got.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"


# ----------------------------------------------------------------------------- delivery


def test_a_message_arrives_with_its_parts(harness):
    sent = message(subject="Contract", text="Plain words.\n", html="<p>Rich words.</p>")
    with harness.make() as transport:
        [result] = engine_send(transport, sent)
    assert result is not None
    assert result.kind == SendKind.SENT
    [got] = harness.delivered()
    assert got.recipients == [READER]
    assert got.headers["subject"] == "Contract"
    assert "Plain words." in (got.text or "")
    assert "<p>Rich words.</p>" in (got.html or "")


def test_message_id_and_one_click_unsubscribe_headers_are_kept(harness):
    sent = message()
    with harness.make() as transport:
        [result] = engine_send(transport, sent)
    assert result is not None
    assert result.ok
    [got] = harness.delivered()
    assert got.headers["message-id"] == sent.message_id
    assert got.headers["list-unsubscribe"] == sent.header("List-Unsubscribe")
    assert got.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"


def test_one_transport_sends_several_messages(harness):
    with harness.make() as transport:
        results = engine_send(transport, *(message(f"r{i}@example.test") for i in range(3)))
    assert all(r is not None and r.ok for r in results)
    assert [d.recipients for d in harness.delivered()] == [[f"r{i}@example.test"] for i in range(3)]


def test_close_is_safe_twice_and_before_open(harness):
    transport = harness.make()
    transport.close()
    with transport:
        [result] = engine_send(transport, message())
        assert result is not None
        assert result.ok
    transport.close()
