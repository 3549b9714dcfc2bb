"""Erasure takes a person's address out of the campaigns' records: the deliveries, the log's
attempts, the servers' replies that repeat it, a single e-mail's campaign name, and beside
them pending sign-ups and import reports. The counts stay as they were, and nobody else's rows
change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from audience import selectors as audience_selectors
from audience import services as audience
from audience.models import AudienceJob, ImportRejection, JobKind, Recipient
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Campaign, Delivery
from campaigns.selectors import status_counts
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import CampaignFactory
from content.models import Template
from core.testing.plans import page_rows_read
from subscriptions.models import PendingSignup, SignupForm

pytestmark = pytest.mark.django_db

ANN = "ann@example.test"
BOB = "bob@example.test"
CARL = "carl@example.test"


def send(workspace, smtp_sink, emails, name="Spring"):
    setup = make_campaign(workspace, smtp_sink, emails=emails)
    if name != "Spring":
        Campaign.objects.filter(pk=setup.campaign.pk).update(name=name)
    campaign_start(campaign=setup.campaign)
    while Engine(batch_size=10).step():
        pass
    return setup


def traces(address: str) -> list[str]:
    """Where the address is still written, case aside: model and column."""
    found = []
    for model, columns in (
        (Delivery, ("email", "last_reply")),
        (Attempt, ("email", "reply")),
        (Campaign, ("name",)),
        (ImportRejection, ("email",)),
        (PendingSignup, ("email",)),
    ):
        for column in columns:
            if model.objects.filter(**{f"{column}__icontains": address}).exists():
                found.append(f"{model.__name__}.{column}")
    return found


@pytest.mark.parametrize("keep_blocked", [False, True])
def test_erasure_leaves_no_address_in_deliveries_attempts_or_replies(
    personas, smtp_sink, owner_client, keep_blocked
):
    # Bob's server names him in its refusal, as real servers do.
    smtp_sink.set_reply(BOB, f"550 5.1.1 <{BOB.upper()}>: Recipient address rejected")
    setup = send(personas.workspace, smtp_sink, [ANN, BOB, CARL])
    campaign = setup.campaign
    named = ["Delivery.email", "Delivery.last_reply", "Attempt.email", "Attempt.reply"]
    assert traces(BOB) == named
    counts = status_counts(campaign.pk)
    carl_before = list(Attempt.objects.filter(email=CARL).values())

    for person in Recipient.objects.filter(email__in=[ANN, BOB]):
        audience.recipient_erase(recipient=person, keep_blocked=keep_blocked)

    assert traces(ANN) == []
    assert traces(BOB) == []
    assert status_counts(campaign.pk) == counts  # the figures do not change
    bob = Delivery.objects.get(campaign=campaign, last_code=550)
    assert bob.last_reply.endswith("550 5.1.1 <[erased]>: Recipient address rejected")
    assert Attempt.objects.filter(campaign=campaign).count() == 3
    assert list(Attempt.objects.filter(email=CARL).values()) == carl_before
    log = owner_client.get(reverse("campaigns:logs"))
    report = owner_client.get(reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}))
    assert (log.status_code, report.status_code) == (200, 200)
    for page in (log, report):
        text = page.content.decode().lower()
        assert ANN not in text
        assert BOB not in text
    assert CARL in log.content.decode()
    assert log.content.decode().count("<td>(erased)</td>") == 2


def test_deliveries_left_by_an_earlier_deleted_recipient_are_erased_too(personas, smtp_sink):
    """Ann was deleted (her history kept), imported again, mailed again, then erased: both
    campaigns' rows lose her address. Deleting alone keeps it."""
    first = send(personas.workspace, smtp_sink, [ANN, CARL])
    audience.recipient_delete(recipient=Recipient.objects.get(email=ANN))
    assert traces(ANN) == ["Delivery.email", "Attempt.email"]
    again = Recipient.objects.create(workspace=personas.workspace, email=ANN)
    everyone = first.campaign.lists.get()
    everyone.recipients.add(again)
    second = CampaignFactory.create(
        workspace=personas.workspace,
        name="Summer",
        template=Template.objects.get(pk=first.campaign.template_id),
        lists=[everyone],
        accounts=[first.account],
    )
    campaign_start(campaign=second)
    while Engine(batch_size=10).step():
        pass
    assert Delivery.objects.filter(email=ANN, sent_at__isnull=False).count() == 2

    audience.recipient_erase(recipient=again, keep_blocked=False)

    assert traces(ANN) == []
    for campaign in (first.campaign, second):
        assert Delivery.objects.filter(campaign=campaign, email="").count() == 1
        assert Delivery.objects.filter(campaign=campaign, email=CARL).count() == 1


def test_another_workspace_keeps_the_same_address(personas, smtp_sink):
    here = send(personas.workspace, smtp_sink, [ANN])
    there = send(personas.other_workspace, smtp_sink, [ANN], name="Theirs")

    audience.recipient_erase(
        recipient=Recipient.objects.get(workspace=personas.workspace, email=ANN),
        keep_blocked=False,
    )

    assert Delivery.objects.get(campaign=here.campaign).email == ""
    assert Delivery.objects.get(campaign=there.campaign).email == ANN
    assert Attempt.objects.get(campaign=there.campaign).email == ANN
    assert Recipient.objects.filter(workspace=personas.other_workspace, email=ANN).exists()


def test_a_single_emails_name_sign_ups_and_import_reports_lose_the_address(
    personas, smtp_sink, editor_client
):
    setup = send(personas.workspace, smtp_sink, [ANN])
    single = Campaign.objects.create(
        workspace=personas.workspace, name=f"E-mail to {ANN}", is_single=True
    )
    job = AudienceJob.objects.create(workspace=personas.workspace, kind=JobKind.IMPORT)
    ImportRejection.objects.create(job=job, line=7, email=ANN.upper(), reason="", duplicate=True)
    form = SignupForm.objects.create(workspace=personas.workspace, name="News")
    PendingSignup.objects.create(
        workspace=personas.workspace, form=form, email=ANN, expires_at=setup.campaign.created_at
    )
    others = PendingSignup.objects.create(
        workspace=personas.workspace, form=form, email=CARL, expires_at=setup.campaign.created_at
    )

    audience.recipient_erase(recipient=Recipient.objects.get(email=ANN), keep_blocked=False)

    assert traces(ANN) == []
    single.refresh_from_db()
    assert single.name == "E-mail to [erased]"
    assert ImportRejection.objects.get().line == 7  # the line stays in the report
    assert list(PendingSignup.objects.all()) == [others]


def test_the_import_lines_naming_an_address_are_found_by_index(personas):
    """Reports keep every rejected line of every import: an erasure reads the lines naming the
    address, not all of them, however the file wrote its case."""
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's; SQLite reads its small tables whole")
    job = AudienceJob.objects.create(workspace=personas.workspace, kind=JobKind.IMPORT)
    ImportRejection.objects.bulk_create(
        ImportRejection(job=job, line=i, email=f"someone{i}@example.test", reason="bad")
        for i in range(300)
    )
    ImportRejection.objects.create(job=job, line=301, email=ANN.title(), reason="", duplicate=True)
    with connection.cursor() as cursor:  # statistics as autovacuum would have them
        cursor.execute("ANALYZE audience_importrejection")
    lines = audience_selectors.import_lines_naming(personas.workspace, ANN)

    assert [r.line for r in lines] == [301]
    assert page_rows_read(lines, "audience_importrejection") <= 2
