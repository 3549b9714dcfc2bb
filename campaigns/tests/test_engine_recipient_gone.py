"""A recipient deleted or erased while their campaign sends gets nothing: the person asked to
be gone (or was removed), so the delivery ends cancelled, without a message and without an
attempt. A deleted recipient's delivery keeps the address it was queued with; an erased one's
loses it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audience import services as audience
from audience.models import ListMembership, Recipient
from campaigns import links
from campaigns.engine import outcome as rules
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("how", ["delete", "erase"])
def test_a_recipient_removed_after_the_launch_gets_no_message(personas, smtp_sink, how):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    gone, *kept = setup.recipients
    if how == "delete":
        audience.recipient_delete(recipient=gone)
    else:
        audience.recipient_erase(recipient=gone, keep_blocked=False)
    while Engine(batch_size=10).step():
        pass
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == sorted(p.email for p in kept)
    ended = Delivery.objects.get(recipient__isnull=True)
    assert (ended.status, ended.recipient_id) == (DeliveryStatus.CANCELLED, None)
    # Deleting keeps the history's address; erasing takes it out (campaigns.erasure).
    assert ended.email == ("" if how == "erase" else gone.email)
    assert ended.last_reply == "The recipient was deleted before sending."
    assert not Attempt.objects.filter(delivery=ended).exists()


def test_the_rule_ends_it_cancelled_without_an_attempt():
    out = rules.recipient_gone(7)
    assert out.status == DeliveryStatus.CANCELLED
    assert out.attempt is None
    assert not out.spend_attempt


def test_a_recipient_deleted_while_the_launch_ran_is_not_sent_to_and_breaks_no_page(
    personas, smtp_sink, client
):
    """The delivery's recipient has no database constraint (a launch would check a million
    rows): one deleted while the launch's INSERT ran keeps an id that points nowhere, here
    made by deleting the row underneath Django. The engine sends nothing to it, and the
    pages that show a delivery answer as for a deleted recipient."""
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    gone, kept = setup.recipients
    ListMembership.objects.filter(recipient=gone).delete()  # Django's cascade, as in a delete
    Recipient.objects.filter(pk=gone.pk)._raw_delete(Recipient.objects.db)
    assert Delivery.objects.get(email=gone.email).recipient_id == gone.pk  # points nowhere
    while Engine(batch_size=10).step():
        pass
    assert [m.rcpt_tos[0] for m in smtp_sink.messages] == [kept.email]
    assert Delivery.objects.get(email=gone.email).status == DeliveryStatus.CANCELLED

    delivery = Delivery.objects.get(email=gone.email)
    token = links.token_for(delivery.pk)
    assert Client().get(f"/v/{token}/").status_code == 200  # the message, without the person
    assert Client().get(f"/u/{token}/").status_code in (200, 404)
    client.force_login(personas.owner)
    report = client.get(reverse("campaigns:detail", args=[setup.campaign.pk]))
    assert report.status_code == 200
