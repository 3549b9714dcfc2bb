"""Warm-up of a sending account: the engine keeps to the day's value of the ramp, over days of
a movable clock, through the real SMTP server; high bounce rates hold the ramp."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from campaigns.engine.step import Engine
from campaigns.models import Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from conftest import client_for
from sending import warmup
from sending.models import SendingAccount
from sending.services import account_update
from tracking import rules
from tracking.events import Fact, record
from tracking.models import BounceType, EventKind, EventSource

pytestmark = pytest.mark.django_db

DAY1 = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_TIMEOUT = 5
    settings.SITE_URL = "https://mail.example.test"
    settings.WARMUP_HOLD_MIN_DELIVERIES = 5
    settings.WARMUP_HOLD_BOUNCE_RATE = 0.1


def _warming(setup, start=5, increase=50, target=100):
    """Put the campaign's account on a warm-up through the service the form and API use."""
    account = SendingAccount.objects.get(pk=setup.account.pk)
    data = {"daily_limit": target, "warmup_start": start, "warmup_increase": increase}
    # A warm-up spreads a campaign over days: longer than the default lifetime of three.
    setup.campaign.lifetime_seconds = 30 * 24 * 3600
    setup.campaign.save(update_fields=["lifetime_seconds"])
    return account_update(account=account, data=data)


def _send_the_day(engine, time_machine, day: date) -> None:
    time_machine.move_to(f"{day.isoformat()} 09:00:00Z", tick=False)
    for _ in range(6):
        engine.step()
        time_machine.shift(timedelta(seconds=2))


def _sent_count() -> int:
    return Delivery.objects.filter(status=DeliveryStatus.SENT).count()


def test_the_ramp_is_pure_arithmetic():
    assert [warmup.ramp(20, 12, 500, step) for step in (0, 1, 2, 10, 28, 29)] == [
        20,
        22,
        25,
        62,
        477,
        500,
    ]
    assert warmup.ramp(100, 10, 1000, 2) == 121  # 100 x 1.1² is 121.00000000000001
    assert warmup.ramp(600, 10, 500, 0) == 500  # never above the target


def test_day_one_sends_the_start_value_and_later_days_the_computed_value(
    personas, smtp_sink, time_machine
):
    time_machine.move_to(f"{DAY1.isoformat()} 08:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=40)
    account = _warming(setup)
    assert account.warmup_started_on == DAY1
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=50)

    expected = [5, 7, 11, 16]  # 5, 5 x 1.5 = 7.5, 5 x 1.5² = 11.25, 5 x 1.5³ = 16.875
    total = 0
    for offset, value in enumerate(expected):
        _send_the_day(engine, time_machine, DAY1 + timedelta(days=offset))
        total += value
        assert _sent_count() == total, f"day {offset + 1}"
        assert len(smtp_sink.messages) == total
    account.refresh_from_db()
    assert account.sent_today == 16


def test_the_ramp_holds_when_the_bounce_rate_passes_its_threshold(
    personas, smtp_sink, time_machine
):
    time_machine.move_to(f"{DAY1.isoformat()} 08:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=40)
    _warming(setup)
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=50)
    _send_the_day(engine, time_machine, DAY1)
    assert _sent_count() == 5

    # One of the five comes back as a hard bounce: 20 %, over the 10 % threshold.
    bounced = Delivery.objects.filter(status=DeliveryStatus.SENT).first()
    assert bounced is not None
    event = record(
        Fact(
            kind=EventKind.BOUNCED,
            source=EventSource.MAILBOX,
            bounce_type=BounceType.HARD,
            status_code="5.1.1",
        ),
        delivery=bounced,
    )
    assert event is not None
    rules.apply(event)
    account = SendingAccount.objects.get(pk=setup.account.pk)
    assert account.warmup_held_since == DAY1
    assert "1 bounces in 5" in account.warmup_hold_reason

    # Days 2 and 3 stay at day 1's value.
    _send_the_day(engine, time_machine, DAY1 + timedelta(days=1))
    _send_the_day(engine, time_machine, DAY1 + timedelta(days=2))
    assert len(smtp_sink.messages) == 15

    # Resumed on day 3 through the API: day 3 keeps the held value, day 4 rises by one step.
    response = client_for(personas.owner).post(f"/api/email-accounts/{account.pk}/warmup-resume/")
    assert response.status_code == 200, response.content
    assert response.json()["warmup"]["held_since"] is None
    assert response.json()["limit_today"] == 5
    _send_the_day(engine, time_machine, DAY1 + timedelta(days=3))
    assert len(smtp_sink.messages) == 22  # 15 + 7


def test_rates_under_the_threshold_leave_the_ramp_alone(personas, smtp_sink, time_machine):
    time_machine.move_to(f"{DAY1.isoformat()} 08:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=40)
    _warming(setup, start=20)
    campaign_start(campaign=setup.campaign)
    _send_the_day(Engine(batch_size=50), time_machine, DAY1)
    bounced = Delivery.objects.filter(status=DeliveryStatus.SENT).first()
    assert bounced is not None
    fact = Fact(kind=EventKind.BOUNCED, source=EventSource.MAILBOX, bounce_type=BounceType.HARD)
    event = record(fact, delivery=bounced)
    assert event is not None
    rules.apply(event)  # 1 in 20: 5 %, under 10 %
    assert SendingAccount.objects.get(pk=setup.account.pk).warmup_held_since is None


def test_the_account_page_shows_today_and_the_next_days(personas, smtp_sink, time_machine):
    time_machine.move_to(f"{DAY1.isoformat()} 08:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=1)
    account = _warming(setup)
    time_machine.move_to("2026-11-23 08:00:00Z", tick=False)  # day 3
    page = client_for(personas.owner).get(f"/sending-accounts/{account.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "data-warmup-today>11<" in body
    assert "0 / 11" in body
    for value in (11, 16, 25, 37, 56, 85, 100):
        assert f"<td>{value}</td>" in body


def test_the_form_starts_and_ends_a_warm_up(personas, smtp_sink, time_machine):
    time_machine.move_to(f"{DAY1.isoformat()} 08:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=1)
    client = client_for(personas.owner)
    url = f"/sending-accounts/{setup.account.pk}/edit/"
    form = {
        "name": "Warm",
        "from_email": "warm@example.test",
        "kind": "smtp",
        "smtp_host": smtp_sink.host,
        "smtp_port": smtp_sink.port,
        "smtp_security": "none",
        "daily_limit": 500,
        "min_interval_seconds": 0,
        "warmup_start": 600,
        "warmup_increase": 12,
    }
    response = client.post(url, form)
    assert response.status_code == 200  # refused: the start is above the target
    assert "Start between 1 and the daily limit" in response.content.decode()
    response = client.post(url, form | {"warmup_start": 20})
    assert response.status_code == 302
    account = SendingAccount.objects.get(pk=setup.account.pk)
    assert (account.warmup_start, account.warmup_started_on) == (20, DAY1)
    response = client.post(url, form | {"warmup_start": ""})
    account.refresh_from_db()
    assert (account.warmup_start, account.warmup_started_on) == (None, None)


def test_the_api_sets_a_warm_up_and_shows_its_curve(personas, smtp_sink, time_machine):
    time_machine.move_to(f"{DAY1.isoformat()} 08:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=1)
    client = client_for(personas.owner)
    url = f"/api/email-accounts/{setup.account.pk}/"
    response = client.patch(
        url,
        {"daily_limit": 500, "warmup_start": 20, "warmup_increase": 12},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["limit_today"] == 20
    assert data["remaining_today"] == 20
    assert [p["limit"] for p in data["warmup"]["curve"]] == [20, 22, 25, 28, 31, 35, 39]
    assert data["warmup"]["days_to_target"] == 29
    not_held = client.post(f"{url}warmup-resume/")
    assert not_held.status_code == 400
