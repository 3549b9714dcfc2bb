from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from audience.models import Recipient
from audience.tests.factories import RecipientListFactory
from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from content.tests.factories import TemplateFactory
from sending.tests.factories import SendingAccountFactory


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    apply_engine_settings(settings)


def apply_engine_settings(settings) -> None:
    """The engine's settings for tests: the SMTP sink on loopback allowed, short waits."""
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_TIMEOUT = 5
    settings.SENDING_HELO_NAME = "worker.postroom.test"
    settings.SITE_URL = "https://mail.example.test"
    settings.DELIVERY_RETRY_BASE_SECONDS = 1
    settings.DELIVERY_RETRY_MAX_SECONDS = 4
    settings.DELIVERY_RETRY_JITTER = 0


@dataclass
class Setup:
    campaign: Campaign
    account: Any
    recipients: list[Recipient]


def make_campaign(workspace, sink, n=5, emails=None, **account_fields) -> Setup:
    emails = emails or [f"person{i}@example.test" for i in range(n)]
    people = Recipient.objects.bulk_create(  # one insert: some tests make hundreds
        [
            Recipient(workspace=workspace, email=e, first_name=f"Name{i}", company="Acme")
            for i, e in enumerate(emails)
        ]
    )
    rl = RecipientListFactory.create(workspace=workspace, name="Everyone", members=people)
    template = TemplateFactory.create(
        workspace=workspace,
        name="Hello",
        subject="Hello {first_name}",
        html_body="<p>Dear {first_name|friend} of {company}</p>"
        '<p><a href="{unsubscribe_url}">Unsubscribe</a></p>',
        text_body="Dear {first_name|friend} of {company}\nUnsubscribe: {unsubscribe_url}",
    )
    account = SendingAccountFactory.create(
        workspace=workspace,
        smtp_host=sink.host,
        smtp_port=sink.port,
        daily_limit=10_000,
        min_interval_seconds=0,
        **account_fields,
    )
    campaign = CampaignFactory.create(
        workspace=workspace, name="Spring", template=template, lists=[rl], accounts=[account]
    )
    return Setup(campaign=campaign, account=account, recipients=people)
