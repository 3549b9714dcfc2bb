from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import factory
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from content.message import RenderedMessage
from sending.models import (
    AccountKind,
    AccountStatus,
    CapturedMessage,
    OAuthProvider,
    Security,
    SendingAccount,
)


class SendingAccountFactory(factory.django.DjangoModelFactory[SendingAccount]):
    class Meta:
        model = SendingAccount

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Account {n}")
    from_email = factory.Sequence(lambda n: f"sender{n}@example.com")
    from_name = "Sender"
    kind = AccountKind.SMTP
    smtp_host = "127.0.0.1"
    smtp_port = 25
    smtp_security = Security.NONE
    status = AccountStatus.ACTIVE


class CapturedMessageFactory(factory.django.DjangoModelFactory[CapturedMessage]):
    class Meta:
        model = CapturedMessage

    workspace = factory.SubFactory(WorkspaceFactory)
    envelope_from = "sender@example.com"
    recipients = factory.LazyFunction(lambda: ["someone@example.test"])
    subject = factory.Sequence(lambda n: f"Captured {n}")
    raw = b"Subject: hello\r\n\r\nhello\r\n"


def rendered(
    *,
    to: str = "reader@example.test",
    from_email: str = "sender@example.com",
    subject: str = "Hello",
    text: str = "Hello there.\n",
    html: str | None = "<p>Hello <b>there</b>.</p>",
    unsubscribe: bool = True,
) -> RenderedMessage:
    """A RenderedMessage as the renderer makes one: headers in wire order and CRLF raw bytes."""
    message = EmailMessage()
    message["From"] = f"Sender <{from_email}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=from_email.rpartition("@")[2])
    if unsubscribe:
        message["List-Unsubscribe"] = "<https://postroom.example/u/abc>, <mailto:u@example.com>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    headers = tuple(
        (k, str(v))
        for k, v in message.items()
        if k.lower() not in ("content-type", "mime-version", "content-transfer-encoding")
    )
    return RenderedMessage(
        from_email=from_email,
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        headers=headers,
        raw=raw,
    )


def oauth2_account_fields(endpoint: Any) -> dict[str, Any]:
    """An XOAUTH2 account's fields for `endpoint` (core.testing.http.TokenEndpoint): its
    stored access token expired, so the first connection refreshes it."""
    return {
        "kind": AccountKind.OAUTH2,
        "oauth_provider": OAuthProvider.GMAIL,
        "from_email": "owner@example.com",
        "smtp_username": "owner@example.com",
        "oauth_client_id": "client-id",
        "oauth_client_secret": "client-secret",
        "oauth_refresh_token": endpoint.refresh_token,
        "oauth_token_endpoint": endpoint.url,
        "oauth_access_token": "expired-token",
        "oauth_access_token_expires_at": timezone.now() - timedelta(minutes=5),
    }
