"""The migrations that made the report fast keep what is stored: events written before them get
their delivery's account, and campaigns frozen before them get their sent tallies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.models import Campaign, SentTally
from campaigns.services import campaigns_freeze_counts
from core.testing.migrations import migrate
from tracking import reports
from tracking.models import Event, EventKind
from tracking.tests.reporting import happened, sent_world

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("campaigns", "0021_delivery_campaign_id"),
    ("tracking", "0008_event_without_redundant_fk_indexes"),
]


@pytest.mark.usefixtures("every_migration_after")
def test_events_and_frozen_campaigns_stored_before_get_their_accounts_and_tallies(personas):
    world = sent_world(personas.workspace, ["ann@gmail.com", "bob@gmail.com", "cid@mail.ru"])
    for delivery in world.deliveries.values():
        happened(delivery, EventKind.OPENED, world.start + timedelta(hours=1))
    assert campaigns_freeze_counts(campaign_ids=[world.campaign.pk]) == 1
    expected = reports.campaign_accounts(Campaign.objects.get(pk=world.campaign.pk))

    migrate(BEFORE)  # the column and the tallies go; the events and the frozen counts stay
    migrate([("campaigns", "0022_sent_tally"), ("tracking", "0010_event_account_filled")])

    for event in Event.objects.filter(campaign=world.campaign):
        assert event.account_id == world.deliveries[event.email].account_id is not None
    tallies = SentTally.objects.filter(campaign=world.campaign)
    assert sorted(tallies.values_list("domain", "sent")) == [
        ("gmail.com", 1),  # one per account
        ("gmail.com", 1),
        ("mail.ru", 1),
    ]
    assert reports.campaign_accounts(Campaign.objects.get(pk=world.campaign.pk)) == expected
