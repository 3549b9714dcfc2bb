"""Campaigns and their deliveries, every related row in the campaign's workspace.

A campaign gets a template, an (empty) list and an SMTP sending account of its workspace
unless told otherwise; `bare=True` makes one with none of them (dashboards, calendars and
claim tests need only the row). A delivery belongs to its campaign's workspace and, unless
`recipient=None`, to a recipient of that workspace whose address it carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import factory

from accounts.tests.factories import WorkspaceFactory
from audience.models import RecipientList
from audience.tests.factories import RecipientFactory, RecipientListFactory
from campaigns.models import Attempt, AttemptOutcome, Campaign, Delivery
from content.tests.factories import TemplateFactory
from sending.models import SendingAccount
from sending.tests.factories import SendingAccountFactory


def _same_workspace(campaign: Campaign, rows: Iterable[Any], what: str) -> list[Any]:
    rows = list(rows)
    foreign = [str(row) for row in rows if row.workspace_id != campaign.workspace_id]
    if foreign:
        raise ValueError(f"{what} of another workspace for campaign {campaign.name}: {foreign}")
    return rows


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    """A draft campaign. `template=`, `lists=[...]` and `accounts=[...]` replace the defaults
    (and must be of the campaign's workspace); `bare=True` leaves all three out."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    class Params:
        bare = factory.Trait(lists=(), accounts=())
        template = factory.Maybe(
            "bare",
            yes_declaration=None,
            no_declaration=factory.SubFactory(
                TemplateFactory, workspace=factory.SelfAttribute("..workspace")
            ),
        )

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    template_id = factory.LazyAttribute(lambda o: o.template.pk if o.template else None)

    @factory.post_generation  # type: ignore[untyped-decorator]
    def lists(
        obj: Campaign, create: bool, extracted: Iterable[RecipientList] | None, **kwargs: Any
    ) -> None:
        if not create:
            return
        if extracted is None:
            extracted = [RecipientListFactory.create(workspace=obj.workspace)]
        obj.lists.add(*_same_workspace(obj, extracted, "lists"))

    @factory.post_generation  # type: ignore[untyped-decorator]
    def accounts(
        obj: Campaign, create: bool, extracted: Iterable[SendingAccount] | None, **kwargs: Any
    ) -> None:
        if not create:
            return
        if extracted is None:
            extracted = [SendingAccountFactory.create(workspace=obj.workspace)]
        obj.accounts.add(*_same_workspace(obj, extracted, "accounts"))


class DeliveryFactory(factory.django.DjangoModelFactory[Delivery]):
    """A queued delivery of `campaign` (a new one by default) to a new recipient of its
    workspace at `address`; `recipient=r` sends to r instead, `recipient=None` to a bare
    `email` (a recipient deleted since)."""

    class Meta:
        model = Delivery

    class Params:
        address = factory.Sequence(lambda n: f"reader{n}@example.test")

    campaign = factory.SubFactory(CampaignFactory)
    workspace = factory.SelfAttribute("campaign.workspace")
    recipient = factory.SubFactory(
        RecipientFactory,
        workspace=factory.SelfAttribute("..workspace"),
        email=factory.SelfAttribute("..address"),
    )
    email = factory.LazyAttribute(lambda o: o.recipient.email if o.recipient else o.address)

    @classmethod
    def _create(cls, model_class: type[Delivery], *args: Any, **kwargs: Any) -> Any:
        workspace, campaign, recipient = (
            kwargs["workspace"],
            kwargs["campaign"],
            kwargs["recipient"],
        )
        if campaign.workspace_id != workspace.pk or (
            recipient is not None and recipient.workspace_id != workspace.pk
        ):
            raise ValueError(f"delivery to {kwargs['email']} mixes workspaces")
        return super()._create(model_class, *args, **kwargs)


class AttemptFactory(factory.django.DjangoModelFactory[Attempt]):
    """A sent try of `delivery` (a new one by default), in its workspace and campaign, to its
    address; `created_at=…` dates it (partitions and retention go by that)."""

    class Meta:
        model = Attempt

    delivery = factory.SubFactory(DeliveryFactory)
    workspace_id = factory.SelfAttribute("delivery.workspace_id")
    campaign_id = factory.SelfAttribute("delivery.campaign_id")
    email = factory.SelfAttribute("delivery.email")
    outcome = AttemptOutcome.SENT
