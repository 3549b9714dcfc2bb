"""E-mail services replayed on loopback: the real anymail backend of each provider talks to
a `ReplayServer` that answers with the payloads recorded in `payloads/<provider>/`, and each
request the backend made is read back as the service would read it.

Recorded payloads (shaped as each service documents its responses):
  accepted, invalid_recipient, policy, rate_limited, server_error, auth_refused;
  and, where the service documents one, sender_refused (the From address or its domain is
  not verified with the service).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from core.testing.http import ReplayServer, Reply, Request
from sending.models import AccountKind, EspProvider, SendingAccount
from sending.tests.factories import SendingAccountFactory

PAYLOADS = Path(__file__).parent / "payloads"
RECORDED = (
    "accepted",
    "invalid_recipient",
    "policy",
    "rate_limited",
    "server_error",
    "auth_refused",
)
# Recorded by some services only: the services that have each.
RECORDED_BY_SOME = {
    "sender_refused": frozenset(
        {EspProvider.AMAZON_SES, EspProvider.SENDGRID, EspProvider.POSTMARK, EspProvider.MAILGUN}
    ),
}
SENDER = "news@acme.example"

_PARSER = BytesParser(policy=policy.default)


@dataclass(frozen=True)
class Sent:
    """A request to a service, read back into what any e-mail has."""

    recipients: list[str]
    subject: str
    headers: dict[str, str]  # names in lower case
    text: str | None
    html: str | None


def recorded(provider: str, name: str) -> Reply:
    return Reply.from_file(PAYLOADS / provider / f"{name}.json")


def point_at(
    provider: str,
    server: ReplayServer,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> SendingAccount:
    """Aim `provider`'s anymail backend at `server` (through the settings anymail reads, or
    for Amazon SES the endpoint variable boto3 reads) and make an account that uses it."""
    urls = {
        EspProvider.SENDGRID: ("SENDGRID_API_URL", "/v3/"),
        EspProvider.MAILGUN: ("MAILGUN_API_URL", "/v3"),
        EspProvider.POSTMARK: ("POSTMARK_API_URL", "/"),
        EspProvider.BREVO: ("BREVO_API_URL", "/v3/"),
    }
    settings.ANYMAIL = {}
    fields: dict[str, Any] = {"esp_api_key": f"{provider}-secret-key"}
    if provider == EspProvider.AMAZON_SES:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", server.base_url)
        # boto3 retries throttling and 5xx by itself; the contract reads its final answer.
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        fields |= {"esp_key_id": "AKIAEXAMPLE", "esp_region": "eu-west-1"}
    else:
        name, path = urls[EspProvider(provider)]
        settings.ANYMAIL[name] = server.base_url + path
    if provider == EspProvider.POSTMARK:
        server.play(postmark_echo(recorded(provider, "accepted")))
    else:
        server.play(recorded(provider, "accepted"))
    return SendingAccountFactory.create(
        kind=AccountKind.ESP, esp_provider=provider, from_email=SENDER, **fields
    )


def wait_at_most(seconds: float, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make backends made from now on wait `seconds` for an answer, so that a stalled service
    times out quickly (only where a test wants the timeout: elsewhere the defaults stand).
    boto3 waits 60 s and has no variable to say otherwise, and the account's client options
    name none, so botocore's default is shortened."""
    from botocore.config import Config  # type: ignore[import-untyped]

    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": seconds}
    defaults = dict(Config.OPTION_DEFAULTS)
    defaults["read_timeout"] = seconds
    monkeypatch.setattr(Config, "OPTION_DEFAULTS", defaults)


def postmark_echo(reply: Reply) -> Callable[[Request], Reply]:
    """Postmark's answer names the recipients it was sent (`To`), as the recorded one does
    for its own; anymail reads each recipient's status from it."""

    def answer(request: Request) -> Reply:
        body = json.loads(reply.body)
        body["To"] = request.json()["To"]
        return Reply(reply.status, json.dumps(body).encode(), reply.headers)

    return answer


def read_request(provider: str, request: Request) -> Sent:
    """What `provider`'s API would take from the request: recipients, subject, headers."""
    readers: dict[str, Callable[[Request], Sent]] = {
        EspProvider.SENDGRID: _sendgrid,
        EspProvider.MAILGUN: _mailgun,
        EspProvider.POSTMARK: _postmark,
        EspProvider.BREVO: _brevo,
        EspProvider.AMAZON_SES: _amazon_ses,
    }
    return readers[provider](request)


def _sendgrid(request: Request) -> Sent:
    body = request.json()
    content = {part["type"]: part["value"] for part in body.get("content", [])}
    return Sent(
        recipients=[to["email"] for p in body["personalizations"] for to in p["to"]],
        subject=body["subject"],
        headers=_lower(body.get("headers", {})),
        text=content.get("text/plain"),
        html=content.get("text/html"),
    )


def _mailgun(request: Request) -> Sent:
    """A form; urlencoded, as the contract's messages have no attachments (with attachments
    requests sends multipart/form-data, which this does not read)."""
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(request.body.decode(), keep_blank_values=True)
    return Sent(
        recipients=fields["to"],
        subject=fields["subject"][0],
        headers={k[2:].lower(): v[0] for k, v in fields.items() if k.startswith("h:")},
        text=fields.get("text", [None])[0],
        html=fields.get("html", [None])[0],
    )


def _postmark(request: Request) -> Sent:
    body = request.json()
    return Sent(
        recipients=[to.strip() for to in body["To"].split(",")],
        subject=body["Subject"],
        headers={h["Name"].lower(): h["Value"] for h in body.get("Headers", [])},
        text=body.get("TextBody"),
        html=body.get("HtmlBody"),
    )


def _brevo(request: Request) -> Sent:
    body = request.json()
    return Sent(
        recipients=[to["email"] for to in body["to"]],
        subject=body["subject"],
        headers=_lower(body.get("headers", {})),
        text=body.get("textContent"),
        html=body.get("htmlContent"),
    )


def _amazon_ses(request: Request) -> Sent:
    """SES v2 SendEmail with raw content: the whole message, base64, in the JSON."""
    body = request.json()
    message = _PARSER.parsebytes(base64.b64decode(body["Content"]["Raw"]["Data"]))
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Sent(
        recipients=body["Destination"]["ToAddresses"],
        subject=str(message["Subject"]),
        headers={k.lower(): str(v) for k, v in message.items()},
        text=text.get_content() if text is not None else None,
        html=html.get_content() if html is not None else None,
    )


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
