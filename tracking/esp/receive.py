"""Receiving an e-mail service's events webhook: whose it is, whether the service sent it,
what it says, and which delivery it is about.

The URL names the sending account and carries its secret; services that sign (Amazon SES
through SNS, Mailgun, SendGrid's signed event webhook) are checked with their signature too.
Anymail's tracking views parse the payloads; they are built per request with the account's
own keys, since anymail's settings are global and Postroom's accounts are per workspace.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import warnings
from typing import Any

from anymail.exceptions import (  # type: ignore[import-untyped]
    AnymailError,
    AnymailWarning,
    AnymailWebhookValidationFailure,
)
from anymail.signals import AnymailTrackingEvent  # type: ignore[import-untyped]
from anymail.webhooks.amazon_ses import (  # type: ignore[import-untyped]
    AmazonSESTrackingWebhookView,
)
from anymail.webhooks.brevo import BrevoTrackingWebhookView  # type: ignore[import-untyped]
from anymail.webhooks.mailgun import MailgunTrackingWebhookView  # type: ignore[import-untyped]
from anymail.webhooks.postmark import (  # type: ignore[import-untyped]
    PostmarkTrackingWebhookView,
)
from anymail.webhooks.sendgrid import (  # type: ignore[import-untyped]
    SendGridTrackingWebhookView,
)
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from campaigns.models import Delivery
from sending.models import AccountKind, EspProvider, SendingAccount
from sending.transports.anymail import METADATA_MESSAGE_ID
from tracking import rules
from tracking.esp import sns
from tracking.esp.normalise import fact_of
from tracking.events import record

log = logging.getLogger(__name__)
OUR_MESSAGE_ID = re.compile(r"^<\d+\.(\d+)\.[0-9a-f]{12}@[^>]+>$")


class WebhookRefused(Exception):
    """The request is not a genuine event post for this account: answered 4xx."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def account_for(provider: str, account_id: int, token: str) -> SendingAccount | None:
    """The e-mail service account whose webhook URL this is, if the secret in it is right."""
    account = SendingAccount.objects.filter(
        pk=account_id, kind=AccountKind.ESP, esp_provider=provider
    ).first()
    if account is None or not account.esp_webhook_token:
        return None
    if not constant_time_compare(token, account.esp_webhook_token):
        return None
    return account


def _view(account: SendingAccount) -> Any:
    """Anymail's tracking view for the account's service, with the account's keys; its basic
    auth stays off, the secret is in the URL."""
    provider = account.esp_provider
    options: dict[str, Any] = {"webhook_secret": []}
    view_class: Any
    if provider == EspProvider.AMAZON_SES:
        view_class = AmazonSESTrackingWebhookView
        options["auto_confirm_sns_subscriptions"] = False  # confirmed here, once verified
    elif provider == EspProvider.MAILGUN:
        view_class = MailgunTrackingWebhookView
        # Older Mailgun accounts sign with the API key, as anymail falls back to.
        options["webhook_signing_key"] = account.esp_webhook_key or account.esp_api_key
    elif provider == EspProvider.SENDGRID:
        view_class = SendGridTrackingWebhookView
        options["tracking_webhook_verification_key"] = account.esp_webhook_key or None
    elif provider == EspProvider.POSTMARK:
        view_class = PostmarkTrackingWebhookView
    elif provider == EspProvider.BREVO:
        view_class = BrevoTrackingWebhookView
    else:
        raise WebhookRefused(f"unknown e-mail service {provider!r}", 404)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnymailWarning)  # "no basic auth": the URL has one
        return view_class(**options)


def parse(account: SendingAccount, request: HttpRequest) -> list[AnymailTrackingEvent]:
    """The events of a request to `account`'s webhook; WebhookRefused when its signature is
    wrong or it cannot be read."""
    view = _view(account)
    try:
        view.run_validators(request)
        if account.esp_provider == EspProvider.AMAZON_SES:
            message = json.loads(request.body)
            sns.verify(message)
            if message.get("Type") == "SubscriptionConfirmation":
                sns.confirm_subscription(message)
                return []
        return list(view.parse_events(request))
    except (AnymailWebhookValidationFailure, sns.SnsSignatureError) as exc:
        raise WebhookRefused(f"bad signature: {exc}", 403) from exc
    except (AnymailError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WebhookRefused(f"unreadable payload: {type(exc).__name__}: {exc}") from exc


@transaction.atomic
def receive(*, account: SendingAccount, events: list[AnymailTrackingEvent]) -> int:
    """Record the events Postroom keeps, each once; returns how many were new. Each new event
    is acted on (`rules.apply`) in the same transaction."""
    recorded = 0
    for event in events:
        fact = fact_of(account.esp_provider, event)
        if fact is None:
            continue
        delivery = match(account, event)
        row = record(fact, delivery=delivery, workspace_id=account.workspace_id)
        if row is not None:
            rules.apply(row)
            recorded += 1
    return recorded


def match(account: SendingAccount, event: AnymailTrackingEvent) -> Delivery | None:
    """The workspace's delivery the event is about: by the Message-ID we sent (handed back in
    the metadata, or as the service's message id), else the latest delivery to the recipient
    through this account in the last TRACKING_ESP_MATCH_DAYS days. Never another workspace's."""
    deliveries = Delivery.objects.filter(workspace_id=account.workspace_id)
    for given in ((event.metadata or {}).get(METADATA_MESSAGE_ID), event.message_id):
        # Our Message-IDs name their delivery (campaigns.links.message_id_for): a lookup by
        # primary key, confirmed by the whole Message-ID, in the account's workspace only.
        message_id = f"<{str(given or '').strip().strip('<>')}>"
        ours = OUR_MESSAGE_ID.match(message_id)
        if ours is not None:
            found = deliveries.filter(pk=int(ours.group(1)), message_id=message_id).first()
            if found is not None:
                return found
    recipient = (event.recipient or "").strip().lower()
    if not recipient:
        return None
    since = timezone.now() - dt.timedelta(days=settings.TRACKING_ESP_MATCH_DAYS)
    # By lower(email), the workspace's index of sent addresses (delivery_workspace_address):
    # UPPER(email) = UPPER(…) read every recent delivery of the account.
    sent_to = deliveries.annotate(address=Lower("email")).filter(address=recipient)
    return sent_to.filter(account=account, sent_at__gte=since).order_by("-sent_at", "-id").first()
