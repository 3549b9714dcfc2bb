"""A reason the system gives (a campaign paused for its bounce rate) is stored in English for
the API and said in the reader's language on the page and in the notification."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone, translation

from audience.models import Recipient
from campaigns.models import CampaignStatus, CampaignStatusChange, Delivery, DeliveryStatus
from campaigns.services import campaigns_start_due
from campaigns.tests.factories import CampaignFactory
from core import reasons
from notifications import collect
from notifications.models import Notification
from tracking import rules

pytestmark = pytest.mark.django_db

ENGLISH = "Paused: 2 bounces in 20 delivered messages (10.0%, over 5.0%)."
RUSSIAN = "Приостановлено: недоставок — 2 на 20 доставленных писем (10,0 %, больше 5,0 %)."


@pytest.fixture
def paused(personas, settings):
    settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES = 20
    settings.WEBHOOK_SETTLE_SECONDS = 0
    workspace = personas.workspace
    campaign = CampaignFactory.create(
        workspace=workspace, name="Spring", status=CampaignStatus.RUNNING, bare=True
    )
    people = Recipient.objects.bulk_create(
        [Recipient(workspace=workspace, email=f"p{i}@example.test") for i in range(20)]
    )
    Delivery.objects.bulk_create(
        Delivery(
            workspace=workspace,
            campaign=campaign,
            recipient=person,
            email=person.email,
            status=DeliveryStatus.BOUNCED if i < 2 else DeliveryStatus.SENT,
            sent_at=timezone.now(),
        )
        for i, person in enumerate(people)
    )
    assert rules.pause_if_rates_high(campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_the_stored_reason_is_english_with_its_code_beside_it(paused):
    assert paused.status == CampaignStatus.PAUSED
    assert paused.status_reason.startswith(ENGLISH)
    assert paused.status_reason_detail["code"] == "campaign.bounce_rate"
    change = CampaignStatusChange.objects.get(campaign=paused, action="pause")
    assert change.reason == paused.status_reason
    assert change.reason_detail == paused.status_reason_detail


def test_the_campaign_page_says_the_reason_in_the_readers_language(paused, owner_client: Client):
    russian = owner_client.get(f"/campaigns/{paused.pk}/", headers={"Accept-Language": "ru"})
    page = russian.content.decode()
    assert RUSSIAN in page
    assert "bounces in" not in page
    english = owner_client.get(f"/campaigns/{paused.pk}/", headers={"Accept-Language": "en"})
    assert ENGLISH in english.content.decode()


def test_the_api_keeps_the_english_text(paused, owner_client: Client):
    answer = owner_client.get(f"/api/campaigns/{paused.pk}/", headers={"Accept-Language": "ru"})
    assert answer.status_code == 200
    assert answer.json()["status_reason"].startswith(ENGLISH)


def test_the_notification_says_the_reason_in_its_readers_language(paused):
    collect.collect(now=timezone.now())
    told = list(Notification.objects.filter(kind="campaign_paused"))
    assert told  # one per member who may see it
    for notification in told:
        with translation.override("ru"):
            assert notification.reason_shown.startswith(RUSSIAN)
        with translation.override("en"):
            assert notification.reason_shown.startswith(ENGLISH)


def test_an_account_error_notification_says_its_opening_in_russian_and_the_server_as_is(
    personas,
):
    from sending.reasons import SENDER_REFUSED

    notification = Notification.objects.create(
        workspace=personas.workspace,
        user=personas.owner,
        kind="account_error",
        key="account_change:1",
        subject_name="Main <news@example.test>",
        reason=f"{SENDER_REFUSED}: Email address is not verified.",
    )
    with translation.override("ru"):
        shown = notification.reason_shown
    assert not shown.startswith("The service")
    assert shown.endswith(": Email address is not verified.")


def test_a_reason_without_a_usable_code_is_shown_as_written():
    assert reasons.shown("Stopped by a manager: spam.", None) == "Stopped by a manager: spam."
    broken = {"code": "campaign.bounce_rate", "values": {"bounced": 2}}  # values lost
    assert reasons.shown("as stored", broken) == "as stored"
    assert reasons.shown("as stored", {"code": "gone.code", "values": {}}) == "as stored"
    with pytest.raises(KeyError):
        reasons.reason("never.registered")


def test_a_stopped_import_says_why_in_the_readers_language(personas, owner_client: Client):
    from audience import services as audience_services
    from audience.models import AudienceJob
    from audience.reasons import NOT_IN_ENCODING

    job = AudienceJob.objects.create(workspace=personas.workspace, kind="import", status="running")
    audience_services.job_finish(
        job=job,
        status="failed",
        error=reasons.reason(NOT_IN_ENCODING, line=12, encoding="windows-1251"),
    )
    job.refresh_from_db()
    assert job.error.startswith("Stopped after line 12: the file is not entirely in windows-1251.")
    page = owner_client.get(f"/recipients/jobs/{job.pk}/", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Остановлено после строки 12: файл не целиком в кодировке windows-1251." in text
    assert "Stopped after line" not in text


def test_a_held_warmup_says_why_in_the_readers_language(personas, owner_client: Client, settings):
    from sending.services import account_warmup_hold
    from sending.tests.factories import SendingAccountFactory

    settings.WARMUP_HOLD_MIN_DELIVERIES = 5
    account = SendingAccountFactory.create(
        workspace=personas.workspace, warmup_start=10, warmup_started_on=timezone.now().date()
    )
    why = rules.warmup_hold_reason(5, 1, 0)
    assert why is not None
    assert account_warmup_hold(account_id=account.pk, reason=why, now=timezone.now())
    page = owner_client.get(
        f"/sending-accounts/{account.pk}/", headers={"Accept-Language": "ru"}
    ).content.decode()
    assert "Приостановлено: недоставок — 1 на 5 доставленных писем" in page
    assert "bounces in" not in page


def test_a_scheduled_start_that_cannot_happen_is_said_in_the_readers_language(
    personas, owner_client: Client
):
    # The worker starts scheduled campaigns in no reader's language; the refusal keeps its code.
    campaign = CampaignFactory.create(
        workspace=personas.workspace,
        status=CampaignStatus.SCHEDULED,
        scheduled_at=timezone.now(),
        template_id=None,
        bare=True,
    )
    with translation.override("ru"):
        assert campaigns_start_due(now=timezone.now()) == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.status_reason == "Choose a template first."
    assert campaign.status_reason_detail == {"code": "campaign.no_template", "values": {}}
    with translation.override("ru"):
        assert campaign.status_reason_shown == "Сначала выберите шаблон."
