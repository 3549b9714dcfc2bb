"""A full quota at the provider: the account's server says its sending limit for the day is
used up (Gmail's 550 5.4.5) long before the account's own daily limit. No message is failed
or spent for it, nothing more goes through the account that day, the owner is told in their
language, and the next day everyone gets exactly one message."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from campaigns.engine.step import Engine
from campaigns.models import Attempt, AttemptOutcome, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from notifications import collect
from notifications.models import Notification
from sending import quota
from sending.models import SendingAccount

pytestmark = pytest.mark.django_db

LIMIT_REPLY = (
    "550 5.4.5 Daily user sending quota exceeded. Learn more at https://support.google.com"
)


def test_the_providers_daily_limit_ends_the_accounts_day_and_loses_nothing(
    personas, smtp_sink, time_machine, settings
):
    settings.WEBHOOK_SETTLE_SECONDS = 0
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=20)
    accepted = 0
    provider_open = True

    def over_the_limit(address: str) -> bool:
        nonlocal accepted
        if provider_open and accepted < 5:
            accepted += 1
            return False
        return provider_open

    smtp_sink.set_reply(over_the_limit, LIMIT_REPLY)
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=20)
    for _ in range(10):  # the rest of the day, a few minutes apart
        engine.step()
        time_machine.shift(timedelta(minutes=5))

    assert len(smtp_sink.messages) == 5
    assert not Delivery.objects.filter(status=DeliveryStatus.FAILED).exists()
    waiting = Delivery.objects.filter(status=DeliveryStatus.DEFERRED)
    assert waiting.count() == 15
    assert {d.attempts for d in waiting} == {0}  # the provider's limit spends no attempt
    assert Attempt.objects.filter(outcome=AttemptOutcome.QUOTA).count() == 1  # asked once
    account = SendingAccount.objects.get(pk=setup.account.pk)
    assert account.day_closed_on is not None
    assert account.day_closed_after == 5
    assert account.daily_limit == 10_000  # our own limit is the user's, left as it is

    collect.collect(now=timezone.now())
    told = Notification.objects.get(user=personas.owner, kind="account_day_closed")
    with translation.override("ru"):
        assert "5" in told.reason_shown
        assert "provider" not in told.reason_shown
    with translation.override("en"):
        assert told.reason_shown.startswith("The provider refused more mail")

    provider_open = False  # a new day at the provider
    time_machine.move_to("2026-11-22 00:30:00Z", tick=False)
    for _ in range(5):
        engine.step()
        time_machine.shift(timedelta(minutes=1))
    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert len(received) == 20
    assert set(received.values()) == {1}
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_room_given_back_does_not_open_a_closed_day(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=1)
    now = timezone.now()
    account = SendingAccount.objects.get(pk=setup.account.pk)
    held = quota.reserve_many(account, now, 10)
    assert isinstance(held, quota.Reservation)
    assert quota.close_day(account_id=account.pk, now=now)
    assert not quota.close_day(account_id=account.pk, now=now)  # once a day
    quota.release(held)  # the batch gives back what it did not send
    account.refresh_from_db()
    assert isinstance(quota.reserve(account, now), quota.NoRoom)
    quota.reset_daily_counts(account.workspace)  # a person says there is room: it opens
    account.refresh_from_db()
    assert account.day_closed_on is None
    assert isinstance(quota.reserve(account, now), quota.Reservation)
