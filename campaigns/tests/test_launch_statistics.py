"""The launch's plan on PostgreSQL with statistics taken when the tables were nearly empty.

In CI the launch of a freshly filled 20,000-recipient campaign ran for 300 s: the test
database's tables had been analyzed while they held a few rows of another workspace, so the
planner took the campaign's list for empty and probed its members by list alone for every
recipient (quadratic). The launch now refreshes such statistics first.
"""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Workspace
from audience.models import ListMembership, Recipient, RecipientList
from audience.statistics import refresh_stale_statistics
from campaigns.engine.launch import launch
from campaigns.models import Delivery
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db

TOTAL = 20_000


def _analyze_while_nearly_empty() -> None:
    """A few rows of another workspace, analyzed: statistics in which no other list exists."""
    other = Workspace.objects.create(name="Earlier test")
    people = Recipient.objects.bulk_create(
        Recipient(workspace=other, email=f"early{i}@example.test") for i in range(5)
    )
    early = RecipientList.objects.create(workspace=other, name="Early")
    ListMembership.objects.bulk_create(
        ListMembership(recipient_list=early, recipient=person) for person in people
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_a_launch_on_tables_grown_since_their_statistics_is_not_quadratic(personas, smtp_sink):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner and statistics")
    _analyze_while_nearly_empty()
    setup = make_campaign(personas.workspace, smtp_sink, n=TOTAL)
    with connection.cursor() as cursor:
        # Linear, it takes well under a second; the quadratic plan took minutes.
        cursor.execute("SET LOCAL statement_timeout = '20s'")
    result = launch(campaign=setup.campaign, now=timezone.now())
    assert result.inserted == TOTAL
    assert Delivery.objects.filter(campaign=setup.campaign).count() == TOTAL


def test_statistics_that_describe_the_tables_are_left_alone(personas):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statistics")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert refresh_stale_statistics() == []  # nothing changed since: no ANALYZE at all
