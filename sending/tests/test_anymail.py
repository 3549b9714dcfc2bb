"""E-mail service APIs through anymail, per account: recorded request shapes, no real provider."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import unquote_plus

import boto3  # type: ignore[import-untyped]
import pytest
import requests
import responses
from botocore.stub import Stubber  # type: ignore[import-untyped]

from core.testing.http import ReplayServer, Reply
from sending import reasons, services
from sending.models import AccountKind, AccountStatus, EspProvider
from sending.tests import esp_replay
from sending.tests.factories import SendingAccountFactory, rendered
from sending.transports.anymail import AnymailTransport, backend_options
from sending.transports.base import OutgoingMessage, SendKind, SendResult

pytestmark = [
    pytest.mark.django_db,
    # anymail still ships SendGrid but no longer supports it officially (anymail issue 432).
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]


@pytest.fixture(autouse=True)
def _no_site_wide_esp_settings(settings):
    # Credentials come from each account; nothing may fall back to site settings.
    settings.ANYMAIL = {}


def esp_account(provider: str, **kwargs):
    kwargs.setdefault("esp_api_key", f"{provider}-secret-key")
    return SendingAccountFactory.create(
        kind=AccountKind.ESP, esp_provider=provider, from_email="news@acme.example", **kwargs
    )


def outgoing() -> OutgoingMessage:
    return OutgoingMessage.from_rendered(rendered(from_email="news@acme.example"))


def send(account) -> tuple[SendResult, AnymailTransport]:
    transport = AnymailTransport(account)
    try:
        return transport.send(outgoing()), transport
    finally:
        transport.close()


@responses.activate
def test_sendgrid_request_carries_the_accounts_key_and_the_headers():
    responses.post("https://api.sendgrid.com/v3/mail/send", status=202)
    result, _ = send(esp_account(EspProvider.SENDGRID))
    assert result.kind == SendKind.SENT
    [call] = responses.calls
    assert call.request.headers["Authorization"] == "Bearer sendgrid-secret-key"
    body = json.loads(str(call.request.body))
    assert body["personalizations"][0]["to"] == [{"email": "reader@example.test"}]
    assert body["from"]["email"] == "news@acme.example"
    assert "List-Unsubscribe" in body["headers"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@responses.activate
def test_mailgun_posts_to_the_sender_domain_with_the_accounts_key():
    responses.post(
        "https://api.mailgun.net/v3/acme.example/messages",
        json={"id": "<20260601.1@acme.example>", "message": "Queued. Thank you."},
    )
    result, _ = send(esp_account(EspProvider.MAILGUN))
    assert result.kind == SendKind.SENT
    assert result.message_id == "<20260601.1@acme.example>"
    [call] = responses.calls
    assert str(call.request.headers["Authorization"]).startswith("Basic ")


@responses.activate
def test_postmark_uses_the_server_token():
    responses.post(
        "https://api.postmarkapp.com/email",
        json={
            "To": "reader@example.test",
            "SubmittedAt": "2026-06-01T10:00:00Z",
            "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d",
            "ErrorCode": 0,
            "Message": "OK",
        },
    )
    result, _ = send(esp_account(EspProvider.POSTMARK))
    assert result.kind == SendKind.SENT
    # the service's id is kept in the attempt's reply, as an SMTP server's "queued as" is
    assert (
        result.reply
        == "Accepted by the service (sent; its id 0a129aee-e1cd-480d-b08d-4f48548ff48d)"
    )
    [call] = responses.calls
    assert call.request.headers["X-Postmark-Server-Token"] == "postmark-secret-key"
    body = json.loads(str(call.request.body))
    assert {h["Name"] for h in body["Headers"]} >= {"List-Unsubscribe", "Message-ID"}


@responses.activate
def test_brevo_uses_the_api_key_header():
    responses.post(
        "https://api.brevo.com/v3/smtp/email", status=201, json={"messageId": "<b1@brevo>"}
    )
    result, _ = send(esp_account(EspProvider.BREVO))
    assert result.kind == SendKind.SENT
    [call] = responses.calls
    assert call.request.headers["api-key"] == "brevo-secret-key"


def test_amazon_ses_sends_raw_content_with_the_accounts_credentials(monkeypatch):
    made: dict[str, str] = {}
    real_client = boto3.session.Session.client

    def stubbed_client(self, service, **params):
        made.update(params)
        client = real_client(self, service, **params)
        stubber = Stubber(client)
        stubber.add_response("send_email", {"MessageId": "ses-message-1"})
        stubber.activate()
        return client

    monkeypatch.setattr(boto3.session.Session, "client", stubbed_client)
    account = esp_account(EspProvider.AMAZON_SES, esp_key_id="AKIAEXAMPLE", esp_region="eu-west-1")
    result, _ = send(account)
    assert result.kind == SendKind.SENT
    assert result.message_id == "ses-message-1"
    assert made["aws_access_key_id"] == "AKIAEXAMPLE"
    assert made["aws_secret_access_key"] == "amazon_ses-secret-key"
    assert made["region_name"] == "eu-west-1"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, SendKind.AUTH),
        (403, SendKind.AUTH),
        (429, SendKind.CONNECTION),
        (503, SendKind.CONNECTION),
        (400, SendKind.PERMANENT),
    ],
)
@responses.activate
def test_provider_errors_are_classified(status, kind):
    responses.post("https://api.sendgrid.com/v3/mail/send", status=status, json={"errors": []})
    result, _ = send(esp_account(EspProvider.SENDGRID))
    assert result.kind == kind
    assert "sendgrid-secret-key" not in result.reply


@responses.activate
def test_an_unreachable_provider_is_the_accounts_fault():
    responses.post(
        "https://api.sendgrid.com/v3/mail/send",
        body=requests.exceptions.ConnectionError("no route"),
    )
    result, _ = send(esp_account(EspProvider.SENDGRID))
    assert result.kind == SendKind.CONNECTION


@responses.activate
def test_refused_credentials_while_sending_put_the_account_in_error():
    responses.post("https://api.sendgrid.com/v3/mail/send", status=401, json={"errors": []})
    account = esp_account(EspProvider.SENDGRID)
    result = services.send_one(account=account, message=rendered(from_email="news@acme.example"))
    assert result.kind == SendKind.AUTH
    account.refresh_from_db()
    assert account.status == AccountStatus.ERROR


def test_each_account_builds_its_own_backend_options():
    ses = esp_account(EspProvider.AMAZON_SES, esp_key_id="AKIA1", esp_region="us-west-2")
    mailgun = esp_account(EspProvider.MAILGUN, esp_region="EU")
    assert backend_options(ses) == (
        "anymail.backends.amazon_ses.EmailBackend",
        {
            "client_params": {
                "region_name": "us-west-2",
                "aws_access_key_id": "AKIA1",
                "aws_secret_access_key": "amazon_ses-secret-key",
            }
        },
    )
    assert backend_options(mailgun) == (
        "anymail.backends.mailgun.EmailBackend",
        {"api_key": "mailgun-secret-key", "api_url": "https://api.eu.mailgun.net/v3"},
    )
    assert re.match(r"anymail\.backends\.postmark\.", backend_options(esp_account("postmark"))[0])


@responses.activate
@pytest.mark.parametrize(
    ("provider", "url", "answer"),
    [
        (EspProvider.SENDGRID, "https://api.sendgrid.com/v3/mail/send", {}),
        (
            EspProvider.MAILGUN,
            "https://api.mailgun.net/v3/acme.example/messages",
            {"id": "<m@acme.example>", "message": "Queued. Thank you."},
        ),
        (
            EspProvider.POSTMARK,
            "https://api.postmarkapp.com/email",
            {"To": "reader@example.test", "MessageID": "p1", "ErrorCode": 0, "Message": "OK"},
        ),
        (EspProvider.BREVO, "https://api.brevo.com/v3/smtp/email", {"messageId": "<b1@brevo>"}),
    ],
)
def test_our_message_id_travels_as_metadata_for_the_events_webhook(provider, url, answer):
    # Services hand metadata back in their events (tracking.esp): the way back to the delivery.
    responses.post(url, status=200, json=answer)
    sent = outgoing()
    transport = AnymailTransport(esp_account(provider))
    try:
        assert transport.send(sent).kind == SendKind.SENT
    finally:
        transport.close()
    [call] = responses.calls
    body = call.request.body
    text = unquote_plus(body.decode() if isinstance(body, bytes) else str(body))
    assert "postroom_message_id" in text
    assert sent.message_id.strip("<>") in text


# ----------------------------------------------------------------------------- service answers
# Through the real backends against a loopback server (core.testing.http.ReplayServer).


@pytest.fixture
def replay_server():
    with ReplayServer() as server:
        yield server


def replay_send(provider, server, settings, monkeypatch, reply: Reply) -> SendResult:
    account = esp_replay.point_at(provider, server, settings, monkeypatch)
    server.play(reply)
    transport = AnymailTransport(account)
    try:
        return transport.send(outgoing())
    finally:
        transport.close()


def busy(status: int, retry_after: str | None) -> Reply:
    headers = [("Content-Type", "application/json")]
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    return Reply(status, b'{"errors": [{"message": "slow down"}]}', tuple(headers))


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_busy_or_failing_service_is_the_accounts_fault(
    status, replay_server, settings, monkeypatch
):
    # Not the recipient's problem: the account backs off, no delivery spends an attempt.
    result = replay_send("sendgrid", replay_server, settings, monkeypatch, busy(status, None))
    assert (result.kind, result.code, result.retry_after) == (SendKind.CONNECTION, status, None)
    assert result.account_fault


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0", 0.0), ("soon", None), ("", None)],
)
def test_the_services_retry_after_in_seconds_is_kept(
    header, seconds, replay_server, settings, monkeypatch
):
    result = replay_send("mailgun", replay_server, settings, monkeypatch, busy(429, header))
    assert result.kind == SendKind.CONNECTION
    assert result.retry_after == seconds


def test_the_services_retry_after_as_a_date_is_kept_as_seconds(
    replay_server, settings, monkeypatch
):
    when = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    result = replay_send("postmark", replay_server, settings, monkeypatch, busy(503, when))
    assert result.kind == SendKind.CONNECTION
    assert result.retry_after is not None
    assert 590 <= result.retry_after <= 600


def test_amazon_ses_throttling_with_retry_after_is_kept(replay_server, settings, monkeypatch):
    reply = Reply(
        429,
        b'{"message": "Maximum sending rate exceeded."}',
        (
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "TooManyRequestsException"),
            ("Retry-After", "30"),
        ),
    )
    result = replay_send("amazon_ses", replay_server, settings, monkeypatch, reply)
    assert (result.kind, result.code, result.retry_after) == (SendKind.CONNECTION, 429, 30.0)


@pytest.mark.parametrize(
    ("provider", "code"),
    [("amazon_ses", 400), ("sendgrid", 403), ("postmark", 422), ("mailgun", 404)],
)
def test_a_refused_from_address_says_so_and_is_not_read_as_credentials(
    provider, code, replay_server, settings, monkeypatch
):
    reply = esp_replay.recorded(provider, "sender_refused")
    result = replay_send(provider, replay_server, settings, monkeypatch, reply)
    assert (result.kind, result.code) == (SendKind.AUTH, code)
    assert result.reply.startswith(reasons.SENDER_REFUSED)
    assert "credentials" not in result.reply


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Invalid 'From' address: 'news@acme'.", SendKind.AUTH),
        ("Invalid metadata content. Metadata values must be strings.", SendKind.PERMANENT),
    ],
)
def test_postmark_invalid_from_address_is_the_senders_not_the_messages(
    message, kind, replay_server, settings, monkeypatch
):
    body = json.dumps({"ErrorCode": 300, "Message": message}).encode()
    reply = Reply(422, body, (("Content-Type", "application/json"),))
    result = replay_send("postmark", replay_server, settings, monkeypatch, reply)
    assert (result.kind, result.code) == (kind, 422)
    assert result.reply.startswith(reasons.SENDER_REFUSED) == (kind == SendKind.AUTH)


def test_amazon_ses_not_verified_for_the_recipient_only_is_the_sandbox_not_the_sender(
    replay_server, settings, monkeypatch
):
    reply = esp_replay.recorded("amazon_ses", "policy")  # names reader@example.test only
    result = replay_send("amazon_ses", replay_server, settings, monkeypatch, reply)
    assert (result.kind, result.suppress) == (SendKind.PERMANENT, False)


def test_postmark_invalid_recipient_suppresses_and_inactive_recipient_is_suppressed_by_it(
    replay_server, settings, monkeypatch
):
    account = esp_replay.point_at("postmark", replay_server, settings, monkeypatch)
    results = []
    for name in ("invalid_recipient", "policy"):
        replay_server.play(esp_replay.recorded("postmark", name))
        with AnymailTransport(account) as transport:
            results.append(transport.send(outgoing()))
    invalid, inactive = results
    assert (invalid.kind, invalid.suppress) == (SendKind.PERMANENT, True)
    assert "invalid" in invalid.reply
    assert (inactive.kind, inactive.suppress) == (SendKind.SUPPRESSED, False)
    assert "suppression list" in inactive.reply


def test_a_suppressed_address_among_accepted_ones_is_not_read_as_all_refused(
    replay_server, settings, monkeypatch
):
    # Postmark: "Message OK, but will not deliver to these inactive addresses": some sent.
    account = esp_replay.point_at("postmark", replay_server, settings, monkeypatch)
    body = {
        "To": "reader@example.test, gone@example.test",
        "MessageID": "p-1",
        "ErrorCode": 0,
        "Message": "Message OK, but will not deliver to these inactive addresses: "
        "gone@example.test. Inactive recipients are ones that have generated a hard bounce.",
    }
    replay_server.play(
        Reply(200, json.dumps(body).encode(), (("Content-Type", "application/json"),))
    )
    sent = OutgoingMessage.from_rendered(
        rendered(from_email="news@acme.example", to="reader@example.test, gone@example.test")
    )
    with AnymailTransport(account) as transport:
        result = transport.send(sent)
    assert result.kind == SendKind.PERMANENT
    assert not result.suppress
