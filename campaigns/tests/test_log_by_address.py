"""The log filtered by an address finds that address's attempts by its deliveries.

Before, any text was matched anywhere in the addresses, reading the workspace's attempts
newest first until a page was full: for a rare address, every attempt of the workspace
(seconds at 10,000,000). A whole address is now that address alone, found through its
recipient's deliveries and those a deleted recipient of the address left. A part of an
address is matched anywhere in the addresses: by the deliveries of the few recipients whose
addresses contain it (the recipients' search index), or, when it is common or short, by
reading the log newest first, which then fills a page soon.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from audience import services as audience
from audience.models import Recipient
from campaigns import selectors
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Delivery
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db

ANN = "ann@example.test"
JOANN = "joann@example.test"  # contains Ann's whole address
BOB = "bob@example.test"


def sent(workspace, smtp_sink, emails):
    setup = make_campaign(workspace, smtp_sink, emails=emails)
    campaign_start(campaign=setup.campaign)
    while Engine(batch_size=10).step():
        pass
    return setup


def flood_the_log(attempt: Attempt, n: int = 20_000) -> None:
    """`n` more attempts like `attempt` (PostgreSQL), analysed: a log the planner must not
    walk to find another address."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_attempt (workspace_id, campaign_id, delivery_id, email,"
            " outcome, enhanced_code, reply, message_id, created_at)"
            " SELECT %s, %s, %s, %s, 'sent', '', '', '', now() FROM generate_series(1, %s)",
            [attempt.workspace_id, attempt.campaign_id, attempt.delivery_id, attempt.email, n],
        )
        cursor.execute("ANALYZE campaigns_attempt")


def emails_of(page) -> list[str]:
    return sorted(a.email for a in page.rows)


def test_a_whole_address_finds_its_attempts_alone_sent_failed_and_left_by_a_deleted_recipient(
    personas, smtp_sink, owner_client
):
    smtp_sink.set_reply(BOB, "550 5.1.1 User unknown")
    sent(personas.workspace, smtp_sink, [ANN, JOANN, BOB])
    sent(personas.other_workspace, smtp_sink, [ANN])
    # Ann deleted: her attempt stays in the log with no recipient behind its delivery.
    audience.recipient_delete(
        recipient=Recipient.objects.get(workspace=personas.workspace, email=ANN)
    )
    Recipient.objects.create(workspace=personas.workspace, email=ANN)  # and imported again

    def found(text: str) -> list[str]:
        return emails_of(
            selectors.attempts_page(personas.workspace, selectors.AttemptFilter(email=text))
        )

    assert found(" Ann@Example.TEST ") == [ANN]
    assert found(BOB) == [BOB]  # refused, never sent
    assert found("nobody@example.test") == []
    assert found("ann@") == [ANN, JOANN]  # a part: anywhere, as before
    assert Attempt.objects.filter(email=ANN).count() == 2  # the other workspace's is not shown

    page = owner_client.get(reverse("campaigns:logs"), {"email": ANN}).content.decode()
    assert page.count('data-outcome="sent"') == 1
    assert JOANN not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_an_address_is_looked_up_by_index_not_by_reading_the_log(personas, smtp_sink):
    """With 20,000 attempts of another address in the log and 20,000 deliveries deleted
    recipients left (analysed), one address's page is read by its deliveries' ids, not by
    walking the workspace's attempts newest first."""
    setup = sent(personas.workspace, smtp_sink, [ANN, BOB])
    audience.recipient_delete(recipient=Recipient.objects.get(email=BOB))
    ann = Attempt.objects.get(email=ANN)
    # 20,000 deliveries other deleted recipients left: the partial index on their addresses
    # is then the plain choice, not a coin toss against the recipient's index on two rows.
    bob = Delivery.objects.get(email=BOB)
    Delivery.objects.bulk_create(
        Delivery(
            workspace=personas.workspace,
            campaign=setup.campaign,
            email=f"gone{n}@example.test",
            status=bob.status,
            sent_at=bob.sent_at,
        )
        for n in range(20_000)
    )
    flood_the_log(ann)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_delivery")

    def plan(qs) -> str:
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    left = (
        Delivery.objects.filter(workspace=personas.workspace, recipient__isnull=True)
        .annotate(address=Lower("email"))
        .filter(address=BOB)
    )
    assert "delivery_orphan_address" in plan(left), plan(left)
    sent_there = (
        Delivery.objects.filter(workspace=personas.workspace, sent_at__isnull=False)
        .annotate(address=Lower("email"))
        .filter(address=BOB)
    )
    assert "delivery_workspace_address" in plan(sent_there), plan(sent_there)
    flt = selectors.AttemptFilter(email=BOB)
    page = selectors.attempts_matching(personas.workspace, flt).select_related(None)
    text = plan(page.order_by("-created_at", "-id")[:51])
    # The month's partition, which holds the 20,000: by the deliveries' index, not walked in
    # the order of (workspace, time). (The other partitions are empty: read any way.)
    month = f"campaigns_attempt_{timezone.now():%Y_%m}_"
    assert f"{month}delivery_id_idx" in text, text
    assert f"{month}workspace_id_created_at" not in text, text
    assert [a.email for a in selectors.attempts_page(personas.workspace, flt).rows] == [BOB]


def test_a_part_of_an_address_is_found_by_deliveries_or_by_the_log_alike(
    personas, smtp_sink, monkeypatch
):
    """The same rows, whichever way a part is looked up: by the deliveries of the recipients
    that have it (a deleted one's left deliveries too), or by reading the log when the part
    is short or in too many addresses."""
    sent(personas.workspace, smtp_sink, [ANN, JOANN, BOB])
    audience.recipient_delete(
        recipient=Recipient.objects.get(workspace=personas.workspace, email=JOANN)
    )
    sent(personas.other_workspace, smtp_sink, [ANN])

    def found(text: str) -> list[str]:
        flt = selectors.AttemptFilter(email=text)
        return emails_of(selectors.attempts_page(personas.workspace, flt))

    assert selectors.deliveries_of_part(personas.workspace, "ANN@") is not None
    assert found("ANN@") == [ANN, JOANN]  # Joann's recipient is gone; her delivery is not
    assert found("oann") == [JOANN]
    assert found("nobody") == []
    assert selectors.deliveries_of_part(personas.workspace, "an") is None  # too short
    assert found("an") == [ANN, JOANN]
    monkeypatch.setattr(selectors, "PART_PEOPLE_MAX", 1)  # Ann and Bob: too many
    assert selectors.deliveries_of_part(personas.workspace, "example") is None
    assert found("example") == [ANN, BOB, JOANN]
    monkeypatch.setattr(selectors, "PART_PEOPLE_MAX", 200)
    monkeypatch.setattr(selectors, "PART_LEFT_MAX", 0)  # Joann's left delivery: too many
    assert selectors.deliveries_of_part(personas.workspace, "example") is None
    assert found("ann@") == [ANN, JOANN]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_a_rare_part_is_read_by_its_deliveries_not_by_walking_the_log(personas, smtp_sink):
    sent(personas.workspace, smtp_sink, [ANN, BOB])
    flood_the_log(Attempt.objects.get(email=BOB))
    flt = selectors.AttemptFilter(email="ann@")
    qs, by_deliveries = selectors._matching(personas.workspace, flt)
    assert by_deliveries
    sql, params = qs.order_by("-created_at", "-id")[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
    month = f"campaigns_attempt_{timezone.now():%Y_%m}_"
    assert f"{month}delivery_id_idx" in text, text
    assert f"{month}workspace_id_created_at" not in text, text
    assert [a.email for a in selectors.attempts_page(personas.workspace, flt).rows] == [ANN]


def test_an_address_finds_what_was_sent_to_it_before_its_recipient_changed_address(
    personas, smtp_sink
):
    sent(personas.workspace, smtp_sink, [ANN, BOB])
    Recipient.objects.filter(workspace=personas.workspace, email=ANN).update(
        email="ann.new@example.test"
    )

    def found(text: str) -> list[str]:
        flt = selectors.AttemptFilter(email=text)
        return emails_of(selectors.attempts_page(personas.workspace, flt))

    assert found(ANN) == [ANN]  # sent to that address, whoever has it now
    assert found("ann.new@example.test") == []  # nothing was ever sent there
