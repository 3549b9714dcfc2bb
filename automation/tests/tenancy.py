"""Foreign objects of automation for the tenancy walker (postroom/tests/test_tenancy.py): an
active sequence with one step (its hidden campaign made) and one enrolled person, so that
every sequence page and action would have something to show or change if it leaked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audience.models import Recipient, RecipientList
from automation.models import Sequence, SequenceStep, SequenceTrigger
from automation.sequences.services import (
    SequenceData,
    StepData,
    sequence_activate,
    sequence_create,
    sequence_enrol,
    step_add,
)
from content.models import Template
from sending.models import AccountKind
from sending.tests.factories import SendingAccountFactory

Provider = Callable[[Any], Any]


def _sequence(foreign: Any) -> Sequence:
    found = Sequence.objects.filter(workspace=foreign.workspace, name="foreignmark").first()
    if found is not None:
        return found
    workspace = foreign.workspace
    account = SendingAccountFactory.create(
        workspace=workspace, name="foreignmark sequence", kind=AccountKind.CAPTURE
    )
    rlist = RecipientList.objects.create(workspace=workspace, name="foreignmark joiners")
    sequence = sequence_create(
        workspace=workspace,
        data=SequenceData(
            name="foreignmark",
            trigger=SequenceTrigger.LIST_JOINED,
            trigger_list=rlist,
            accounts=[account],
        ),
    )
    template = Template.objects.create(
        workspace=workspace, name="foreignmark step", subject="foreignmark", text_body="Hi"
    )
    step_add(sequence=sequence, data=StepData(template=template, delay_seconds=3600))
    sequence_activate(sequence=sequence)
    person, _ = Recipient.objects.get_or_create(
        workspace=workspace, email="foreignmark-sequence@example.test"
    )
    sequence_enrol(sequence=sequence, recipients=[person])
    return sequence


def _step(foreign: Any) -> int:
    return SequenceStep.objects.filter(sequence=_sequence(foreign)).values_list("pk", flat=True)[0]


PROVIDERS: dict[str, Provider] = {
    "sequence_id": lambda foreign: _sequence(foreign).pk,
    "step_id": _step,
}
