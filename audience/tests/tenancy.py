"""Objects of a foreign workspace for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audience.models import (
    AudienceJob,
    CustomField,
    JobKind,
    JobStatus,
    Recipient,
    RecipientList,
    Segment,
    Suppression,
    SuppressionReason,
)

Provider = Callable[[Any], Any]


def _recipient(foreign: Any) -> int:
    recipient, _ = Recipient.objects.get_or_create(
        workspace=foreign.workspace,
        email="foreignmark-recipient@example.com",
        defaults={"first_name": "Foreignmark"},
    )
    return recipient.pk


def _list(foreign: Any) -> int:
    item, _ = RecipientList.objects.get_or_create(
        workspace=foreign.workspace, name="foreignmark list"
    )
    return item.pk


def _segment(foreign: Any) -> int:
    item, _ = Segment.objects.get_or_create(
        workspace=foreign.workspace,
        name="foreignmark segment",
        defaults={"definition": {"match": "all", "conditions": []}},
    )
    return item.pk


def _field(foreign: Any) -> int:
    item, _ = CustomField.objects.get_or_create(
        workspace=foreign.workspace, key="foreignmark", defaults={"label": "foreignmark field"}
    )
    return item.pk


def _suppression(foreign: Any) -> int:
    item, _ = Suppression.objects.get_or_create(
        workspace=foreign.workspace,
        email="foreignmark-blocked@example.com",
        defaults={"reason": SuppressionReason.MANUAL},
    )
    return item.pk


def _job(foreign: Any) -> int:
    job = AudienceJob.objects.create(
        workspace=foreign.workspace,
        kind=JobKind.IMPORT,
        status=JobStatus.DONE,
        file_name="foreignmark.csv",
        params={"header": ["email"], "preview": []},
    )
    return job.pk


PROVIDERS: dict[str, Provider] = {
    "recipient_id": _recipient,
    "list_id": _list,
    "segment_id": _segment,
    "field_id": _field,
    "suppression_id": _suppression,
    "job_id": _job,
}
