"""Single e-mails (djangoMailer's "queue single email") and "send now" on a waiting message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audience.models import Suppression
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.tests.factories import CampaignFactory
from campaigns.tests.test_views_campaigns import make_world, run_engine
from sending.models import CapturedMessage

pytestmark = pytest.mark.django_db


def test_djangomailer_addresses_are_mounted():
    assert reverse("campaigns:create_seed") == "/campaigns/create/"
    assert reverse("campaigns:logs") == "/logs/"
    assert reverse("campaigns:emails") == "/emails/"
    assert reverse("campaigns:email_create") == "/emails/create/"
    assert (
        reverse("campaigns:delivery_send_now", kwargs={"delivery_id": 7})
        == "/email_send_candidate/7/send_now/"
    )


def test_one_email_is_queued_sent_and_listed(personas, editor_client):
    world = make_world(personas.workspace)
    response = editor_client.post(
        reverse("campaigns:email_create"),
        {"email": "R2@example.test", "template": world.template.pk, "account": world.account.pk},
    )
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    assert campaign.is_single
    assert campaign.status == CampaignStatus.RUNNING
    assert list(Delivery.objects.values_list("email", flat=True)) == ["r2@example.test"]
    queue = editor_client.get(reverse("campaigns:emails")).content.decode()
    assert "r2@example.test" in queue
    assert "Send now" in queue

    run_engine()

    captured = CapturedMessage.objects.get()
    assert captured.recipients == ["r2@example.test"]
    assert captured.subject == "Hello R2"
    log = editor_client.get(reverse("campaigns:logs"), {"campaign": campaign.pk}).content.decode()
    assert log.count('data-outcome="sent"') == 1
    assert f'<option value="{campaign.pk}" selected>E-mail to r2@example.test</option>' in log
    # Single e-mails stay out of the campaign list.
    assert "E-mail to r2@" not in editor_client.get(reverse("campaigns:index")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nobody@example.test"}, "No recipient has this address"),
        ({"email": "r0@example.test", "template": ""}, "Choose a template."),
        ({"email": "r0@example.test", "account": ""}, "Choose at least one active sending"),
        ({"email": "r0@example.test", "send_at": "2001-01-01T00:00"}, "This time is in the past."),
        ({"email": "r9@example.test"}, "No recipient has this address"),
    ],
)
def test_bad_single_emails_are_refused(personas, editor_client, data, message):
    world = make_world(personas.workspace)
    full = {"template": world.template.pk, "account": world.account.pk, **data}
    page = editor_client.post(reverse("campaigns:email_create"), full).content.decode()
    assert message in page
    assert not Campaign.objects.exists()


def test_a_suppressed_recipient_is_refused_and_nothing_is_queued(personas, editor_client):
    world = make_world(personas.workspace)
    Suppression.objects.create(workspace=personas.workspace, email="r1@example.test")
    data = {"email": "r1@example.test", "template": world.template.pk, "account": world.account.pk}
    page = editor_client.post(reverse("campaigns:email_create"), data).content.decode()
    assert "r1@example.test cannot receive mail" in page
    assert not Campaign.objects.exists()


def test_send_now_makes_a_deferred_message_due(personas, editor_client):
    world = make_world(personas.workspace)
    data = {"email": "r0@example.test", "template": world.template.pk, "account": world.account.pk}
    editor_client.post(reverse("campaigns:email_create"), data)
    later = timezone.now() + timedelta(hours=3)
    Delivery.objects.update(status=DeliveryStatus.DEFERRED, next_attempt_at=later)
    delivery = Delivery.objects.get()

    url = reverse("campaigns:delivery_send_now", kwargs={"delivery_id": delivery.pk})
    response = editor_client.post(url, {"next": "emails"})

    assert response["Location"] == reverse("campaigns:emails")
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()
    run_engine()
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    page = editor_client.post(url, follow=True).content.decode()
    assert "This message is sent." in page


def test_viewers_cannot_queue_or_send_now(personas, editor_client, viewer_client):
    world = make_world(personas.workspace)
    data = {"email": "r0@example.test", "template": world.template.pk, "account": world.account.pk}
    assert viewer_client.post(reverse("campaigns:email_create"), data).status_code == 403
    editor_client.post(reverse("campaigns:email_create"), data)
    delivery = Delivery.objects.get()
    url = reverse("campaigns:delivery_send_now", kwargs={"delivery_id": delivery.pk})
    assert viewer_client.post(url).status_code == 403
    assert viewer_client.get(reverse("campaigns:emails")).status_code == 200
    assert "Send now" not in viewer_client.get(reverse("campaigns:emails")).content.decode()


def test_a_single_email_can_wait_for_its_time(personas, editor_client):
    world = make_world(personas.workspace)
    at = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "email": "r0@example.test",
        "template": world.template.pk,
        "account": world.account.pk,
        "send_at": at,
    }
    editor_client.post(reverse("campaigns:email_create"), data)
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert not Delivery.objects.exists()


def test_the_form_can_be_prefilled_with_an_address(personas, editor_client):
    url = reverse("campaigns:email_create") + "?email=r1%40example.test"
    page = editor_client.get(url).content.decode()
    assert 'value="r1@example.test"' in page


def test_the_queue_pages_newest_first(personas, editor_client):
    campaign = CampaignFactory.create(
        workspace=personas.workspace,
        name="One",
        is_single=True,
        status=CampaignStatus.RUNNING,
        bare=True,
    )
    Delivery.objects.bulk_create(
        [
            Delivery(workspace=personas.workspace, campaign=campaign, email=f"q{i:03}@example.test")
            for i in range(60)
        ]
    )
    first = editor_client.get(reverse("campaigns:emails")).content.decode()
    assert "q059@" in first
    assert "q009@" not in first
    cursor = first.split("?after=")[1].split('"')[0]
    second = editor_client.get(reverse("campaigns:emails"), {"after": cursor}).content.decode()
    assert "q009@" in second
    assert "q010@" not in second
