"""The hourly housekeeping forgets attempts and events past their retention and makes the
coming months' partitions (PostgreSQL); the settings refuse a retention too short to read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Attempt
from campaigns.partitions import ATTEMPTS
from campaigns.tests.factories import AttemptFactory, CampaignFactory, DeliveryFactory
from core.partitions import months_before, next_month
from postroom.housekeeping import housekeeping
from postroom.tests.test_settings import manage
from tracking.events import Fact, record
from tracking.models import Event, EventKind, EventSource
from tracking.partitions import EVENTS


@pytest.mark.django_db(transaction=True)
def test_housekeeping_forgets_what_is_past_retention_and_makes_months_ahead(personas, settings):
    settings.ATTEMPT_RETENTION_MONTHS = settings.EVENT_RETENTION_MONTHS = 2
    delivery = DeliveryFactory.create(campaign=CampaignFactory.create(workspace=personas.workspace))
    now = timezone.now()
    cut = dt.datetime.combine(months_before(now.date(), 2), dt.time.min, tzinfo=dt.UTC)
    for at in (cut - dt.timedelta(seconds=1), cut, now):
        AttemptFactory.create(delivery=delivery, created_at=at)
        record(
            Fact(kind=EventKind.OPENED, source=EventSource.LINK, occurred_at=at), delivery=delivery
        )

    housekeeping()

    assert sorted(Attempt.objects.values_list("created_at", flat=True)) == [cut, now]
    assert sorted(Event.objects.values_list("occurred_at", flat=True)) == [cut, now]
    if connection.vendor == "postgresql":
        ahead = next_month(next_month(next_month(now.date())))
        with connection.cursor() as cursor:
            for name in (ATTEMPTS.partition_name(ahead), EVENTS.partition_name(ahead)):
                cursor.execute("SELECT to_regclass(%s)", [name])
                assert cursor.fetchone()[0] is not None, name


@pytest.mark.parametrize("value", ["1", "-1"])
def test_a_retention_shorter_than_two_months_is_refused(value, tmp_path):
    result = manage(
        "check",
        POSTROOM_DEVELOPMENT="1",
        POSTROOM_VAR_DIR=str(tmp_path),
        ATTEMPT_RETENTION_MONTHS=value,
    )
    assert result.returncode != 0
    assert "ATTEMPT_RETENTION_MONTHS must be 0 (keep for ever) or at least 2." in result.stderr
