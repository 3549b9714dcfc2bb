"""Counts and words say what happened: "failed" only for deliveries that ended failed,
cancelled campaigns show what was sent and what was cancelled, "sent" only for sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import dashboard
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Campaign, Delivery, DeliveryStatus
from campaigns.services import campaign_cancel, campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


def drive(time_machine, rounds: int = 6) -> None:
    for _ in range(rounds):
        Engine().step()
        time_machine.shift(timedelta(minutes=2))


def test_retried_failures_are_not_counted_as_failed(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    emails = [f"person{i}@example.test" for i in range(4)] + ["nouser+gone@example.test"]
    setup = make_campaign(personas.workspace, smtp_sink, emails=emails)
    # The server drops the first connection (421 closes it), then accepts everyone it knows.
    smtp_sink.set_reply(lambda address: address.startswith("person"), "421 4.7.0 Busy", times=1)
    campaign_start(campaign=setup.campaign)
    drive(time_machine)

    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 4
    assert Delivery.objects.get(email="nouser+gone@example.test").status in (
        DeliveryStatus.NOT_FOUND,
        DeliveryStatus.FAILED,
    )
    assert Attempt.objects.exclude(outcome__in=("sent", "permanent")).exists()  # a retry

    figures = dashboard.compute(personas.workspace, timezone.now())
    assert figures.today["sent"] == 4
    assert figures.today["failed"] == 1  # the unknown address, and only it
    assert figures.today["retried"] >= 1


def test_a_temporary_failure_on_the_last_try_counts_as_failed(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, emails=["slow@example.test"])
    setup.campaign.max_attempts = 2
    setup.campaign.save()
    smtp_sink.set_reply("slow@example.test", "451 4.3.0 Try again")
    campaign_start(campaign=setup.campaign)
    for _ in range(8):
        Engine().step()
        time_machine.shift(timedelta(hours=2))

    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert Attempt.objects.count() == 2
    figures = dashboard.compute(personas.workspace, timezone.now())
    assert (figures.month["failed"], figures.month["retried"]) == (1, 1)


def test_a_cancelled_campaign_shows_what_was_sent_and_what_was_cancelled(
    personas, smtp_sink, owner_client
):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    first = Delivery.objects.order_by("pk")[:2]
    Delivery.objects.filter(pk__in=[d.pk for d in first]).update(status=DeliveryStatus.SENT)
    campaign_cancel(campaign=Campaign.objects.get(pk=setup.campaign.pk))

    page = owner_client.get(
        reverse("campaigns:detail", kwargs={"campaign_id": setup.campaign.pk})
    ).content.decode()
    assert "100%" not in page
    assert '<span data-count="sent">2</span> of <span data-count="total">5</span> sent' in page
    assert '<span data-count="cancelled">3</span> cancelled before sending' in page
    assert 'value="40"' in page  # the bar shows the part dealt with, not a full bar
    listing = owner_client.get(reverse("campaigns:index")).content.decode()
    assert "2 of 5 sent, 3 cancelled" in listing


def test_nothing_is_called_sent_while_it_is_queued(personas, smtp_sink, owner_client):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)  # launched; the engine has not run

    page = owner_client.get(
        reverse("campaigns:detail", kwargs={"campaign_id": setup.campaign.pk})
    ).content.decode()
    assert "Sent to" not in page
    assert "Addressed to" in page
    assert '<span data-count="sent">0</span> of <span data-count="total">3</span> sent' in page
    assert '<span data-count="waiting">3</span> still to send' in page
