from datetime import timedelta

import pytest
from django.utils import timezone

from sending.housekeeping import purge_captured
from sending.models import CapturedMessage

pytestmark = pytest.mark.django_db


def _captured(workspace, age_days: float) -> CapturedMessage:
    return CapturedMessage.objects.create(
        workspace=workspace,
        envelope_from="news@acme.test",
        recipients=["a@acme.test"],
        subject=f"{age_days} days old",
        raw=b"Subject: x\r\n\r\nx\r\n",
        created_at=timezone.now() - timedelta(days=age_days),
    )


def test_captured_messages_older_than_the_retention_go_in_chunks(personas, settings):
    settings.CAPTURED_RETENTION_DAYS = 30
    old = [_captured(personas.workspace, 31 + i) for i in range(5)]
    old.append(_captured(personas.other_workspace, 40))
    kept = [_captured(personas.workspace, 29), _captured(personas.other_workspace, 1)]

    assert purge_captured(now=timezone.now(), chunk=2) == len(old)

    assert set(CapturedMessage.objects.values_list("pk", flat=True)) == {m.pk for m in kept}


def test_a_retention_of_zero_keeps_everything(personas, settings):
    settings.CAPTURED_RETENTION_DAYS = 0
    _captured(personas.workspace, 400)
    assert purge_captured(now=timezone.now()) == 0
    assert CapturedMessage.objects.count() == 1
