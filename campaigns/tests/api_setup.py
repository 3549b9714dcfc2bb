"""What the campaign API tests start from: a workspace with recipients in a list, a template
and an active sending account (pointing at the SMTP test server when one is given)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audience.models import Recipient, RecipientList
from audience.tests.factories import RecipientListFactory
from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from content.models import Template
from content.services import template_create
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory


@dataclass
class Stage:
    workspace: Any
    template: Template
    account: SendingAccount
    rlist: RecipientList
    recipients: list[Recipient]

    def campaign_body(self, **changes: Any) -> dict[str, Any]:
        """A valid body for POST /api/campaigns/."""
        return {
            "name": "Spring",
            "template_id": self.template.pk,
            "list_ids": [self.rlist.pk],
            "account_ids": [self.account.pk],
            **changes,
        }

    def campaign(self, **fields: Any) -> Campaign:
        """A draft campaign of this stage's template, list and account."""
        return CampaignFactory.create(
            workspace=self.workspace,
            template=self.template,
            lists=[self.rlist],
            accounts=[self.account],
            **fields,
        )


def stage(workspace: Any, sink: Any = None, n: int = 3, prefix: str = "person") -> Stage:
    people = Recipient.objects.bulk_create(
        [
            Recipient(
                workspace=workspace,
                email=f"{prefix}{i}@example.test",
                first_name=f"Name{i}",
                company="Acme" if i % 2 == 0 else "Globex",
            )
            for i in range(n)
        ]
    )
    rlist = RecipientListFactory.create(
        workspace=workspace, name=f"Everyone {prefix}", members=people
    )
    template = template_create(
        workspace=workspace,
        name=f"Hello {prefix}",
        subject="Hello {first_name}",
        html_body='<p>Dear {first_name|friend}</p><p><a href="{unsubscribe_url}">Leave</a></p>',
    )
    where = {"smtp_host": sink.host, "smtp_port": sink.port} if sink is not None else {}
    account = SendingAccountFactory.create(
        workspace=workspace, daily_limit=10_000, min_interval_seconds=0, **where
    )
    return Stage(workspace, template, account, rlist, people)
