"""A sequence ready to run against the SMTP sink: a list, an account, three templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from audience.models import ListMembership, Recipient, RecipientList
from automation.models import Sequence, SequenceTrigger
from automation.sequences.services import SequenceData, StepData, sequence_create, step_add
from content.models import Template
from content.tests.factories import TemplateFactory
from sending.models import AccountKind
from sending.tests.factories import SendingAccountFactory

DAY = 24 * 3600


@dataclass
class SequenceSetup:
    sequence: Sequence
    rlist: RecipientList
    account: Any
    templates: list[Template]


def make_sequence(
    workspace, sink=None, delays=(0, DAY, 2 * DAY), **account_fields
) -> SequenceSetup:
    """A list-triggered sequence with one step per delay ("Step 1 …", "Step 2 …" subjects);
    with `sink`, its account sends to it, else it is a capture account."""
    if sink is not None:
        account_fields |= {"smtp_host": sink.host, "smtp_port": sink.port}
    else:
        account_fields |= {"kind": AccountKind.CAPTURE}
    account = SendingAccountFactory.create(
        workspace=workspace, daily_limit=100_000, min_interval_seconds=0, **account_fields
    )
    rlist = RecipientList.objects.create(workspace=workspace, name="Newcomers")
    templates = [
        TemplateFactory.create(
            workspace=workspace,
            name=f"Welcome {n}",
            subject=f"Step {n} for {{first_name}}",
            html_body=f'<p>Step {n}</p><p><a href="https://example.test/{n}">More</a></p>'
            '<p><a href="{unsubscribe_url}">Unsubscribe</a></p>',
            text_body=f"Step {n}\nUnsubscribe: {{unsubscribe_url}}",
        )
        for n in range(1, len(delays) + 1)
    ]
    sequence = sequence_create(
        workspace=workspace,
        data=SequenceData(
            name="Onboarding",
            trigger=SequenceTrigger.LIST_JOINED,
            trigger_list=rlist,
            accounts=[account],
        ),
    )
    for template, delay in zip(templates, delays, strict=True):
        step_add(sequence=sequence, data=StepData(template=template, delay_seconds=delay))
    return SequenceSetup(sequence=sequence, rlist=rlist, account=account, templates=templates)


def join(setup: SequenceSetup, n: int, start: int = 0) -> list[Recipient]:
    """`n` new people join the sequence's list now."""
    people = Recipient.objects.bulk_create(
        Recipient(
            workspace_id=setup.sequence.workspace_id,
            email=f"person{i}@example.test",
            first_name=f"Name{i}",
        )
        for i in range(start, start + n)
    )
    ListMembership.objects.bulk_create(
        ListMembership(recipient_list=setup.rlist, recipient=p) for p in people
    )
    return people


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
