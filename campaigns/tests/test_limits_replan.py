"""Limits and campaigns: lifting a limit re-plans the deliveries waiting for room; a campaign
held by its accounts' limits says so, with when it resumes and an ETA that counts days; the
campaign form warns when the audience is more than the accounts can send today."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import workspace_update
from campaigns import selectors
from campaigns.engine.step import Engine
from campaigns.models import Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending import quota
from sending.services import account_update
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def run_until_idle(engine: Engine, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not engine.step():
            return


def berlin(workspace):
    workspace.time_zone = "Europe/Berlin"
    workspace.save(update_fields=["time_zone"])
    return workspace


def held_at_daily_limit(personas, smtp_sink, *, n=5, limit=2):
    berlin(personas.workspace)
    setup = make_campaign(personas.workspace, smtp_sink, n=n)
    setup.account.daily_limit = limit
    setup.account.save(update_fields=["daily_limit"])
    campaign_start(campaign=setup.campaign)
    engine = Engine()
    run_until_idle(engine)
    assert len(smtp_sink.messages) == limit
    return setup, engine


def fresh(campaign):
    return type(campaign).objects.get(pk=campaign.pk)


def waiting_until():
    return set(
        Delivery.objects.filter(status=DeliveryStatus.DEFERRED).values_list(
            "next_attempt_at", flat=True
        )
    )


def test_raising_the_daily_limit_sends_what_now_has_room_at_once(personas, smtp_sink):
    setup, engine = held_at_daily_limit(personas, smtp_sink, n=5, limit=2)
    midnight = quota.next_local_midnight(personas.workspace, timezone.now())
    assert waiting_until() == {midnight}

    account_update(account=setup.account, data={"daily_limit": 4})
    run_until_idle(engine)

    assert len(smtp_sink.messages) == 4  # not at midnight: now
    # The one the new limit has no room for still waits for the next day, as before.
    assert waiting_until() == {midnight}
    personas.workspace.refresh_from_db()
    assert personas.workspace.room_changed_at is None  # the mark was handled


def test_lowering_a_limit_moves_nothing(personas, smtp_sink):
    setup, engine = held_at_daily_limit(personas, smtp_sink, n=5, limit=2)
    account_update(account=setup.account, data={"daily_limit": 1, "name": "Renamed"})
    personas.workspace.refresh_from_db()
    assert personas.workspace.room_changed_at is None
    run_until_idle(engine)
    assert len(smtp_sink.messages) == 2


def test_lifting_the_hourly_limit_sends_the_waiting_deliveries(personas, smtp_sink):
    workspace = berlin(personas.workspace)
    workspace.hourly_limit = 2
    workspace.save(update_fields=["hourly_limit"])
    setup = make_campaign(workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    engine = Engine()
    run_until_idle(engine)
    assert len(smtp_sink.messages) == 2
    [until] = waiting_until()
    assert until > timezone.now() + timedelta(minutes=50)

    workspace_update(
        workspace=workspace, name=workspace.name, time_zone="Europe/Berlin", hourly_limit=None
    )
    run_until_idle(engine)
    assert len(smtp_sink.messages) == 5


def test_the_manual_reset_of_the_day_sends_the_waiting_deliveries(personas, smtp_sink):
    _, engine = held_at_daily_limit(personas, smtp_sink, n=3, limit=2)
    quota.reset_daily_counts(personas.workspace)
    run_until_idle(engine)
    assert len(smtp_sink.messages) == 3


def test_an_edit_does_not_undo_what_the_engine_counted_meanwhile(personas, smtp_sink):
    """The form's copy of the account is older than the engine's counters: saving it must
    not give the day's room back (nor bring an account in error back to work)."""
    setup, _ = held_at_daily_limit(personas, smtp_sink, n=3, limit=2)
    stale = type(setup.account).objects.get(pk=setup.account.pk)
    stale.sent_today = 0
    stale.status = "active"
    type(setup.account).objects.filter(pk=stale.pk).update(status="error")
    account_update(account=stale, data={"name": "Renamed"})
    stale.refresh_from_db()
    assert (stale.name, stale.sent_today, stale.status) == ("Renamed", 2, "error")


def test_a_campaign_held_by_the_daily_limit_says_so_and_when_it_resumes(personas, smtp_sink):
    setup, _ = held_at_daily_limit(personas, smtp_sink, n=5, limit=2)
    client = Client()
    client.force_login(personas.viewer)
    page = client.get(f"/campaigns/{setup.campaign.pk}/").content.decode()
    assert "Held: daily limit of the account reached; resumes at 00:00 Europe/Berlin" in page
    partial = client.get(f"/campaigns/{setup.campaign.pk}/progress/").content.decode()
    assert "resumes at 00:00 Europe/Berlin" in partial


def test_the_hold_names_all_accounts_and_disappears_once_there_is_room(personas, smtp_sink):
    berlin(personas.workspace)
    setup = make_campaign(personas.workspace, smtp_sink, n=6)
    setup.account.daily_limit = 2
    setup.account.save(update_fields=["daily_limit"])
    other = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        daily_limit=1,
        min_interval_seconds=0,
    )
    setup.campaign.accounts.add(other)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert len(smtp_sink.messages) == 3
    progress = selectors.campaign_progress(fresh(setup.campaign))
    assert progress.hold is not None
    assert progress.hold.text == (
        "daily limit of all accounts reached; resumes at 00:00 Europe/Berlin"
    )
    account_update(account=other, data={"daily_limit": 10})
    assert selectors.campaign_progress(fresh(setup.campaign)).hold is None


def test_the_eta_counts_the_days_the_limits_take():
    """600 waiting, 100 left today, 200 a day: today's 100, then 200, 200 and the last 100 on
    the third day after today, at the accounts' pace of 2 a minute (50 minutes)."""
    from accounts.models import Workspace

    workspace = Workspace(time_zone="Europe/Berlin")
    now = datetime(2026, 3, 10, 15, 0, tzinfo=BERLIN)
    accounts = [
        SendingAccountFactory.build(
            workspace=workspace, daily_limit=100, min_interval_seconds=60, sent_today=s
        )
        for s in (100, 0)
    ]
    for account in accounts:
        account.sent_day = now.date()
    finishes = selectors.finish_time(workspace, accounts, 600, rate=0.0, now=now)
    assert finishes == datetime(2026, 3, 13, 0, 50, tzinfo=BERLIN)
    # Within today's room, only the pace counts: 60 at 2 a minute.
    assert selectors.finish_time(workspace, accounts, 60, rate=0.0, now=now) == now + timedelta(
        minutes=30
    )
    # A measured rate wins over the limits' pace.
    assert selectors.finish_time(workspace, accounts, 60, rate=6.0, now=now) == now + timedelta(
        minutes=10
    )


def test_the_campaign_page_shows_an_eta_in_days_while_held(personas, smtp_sink):
    setup, _ = held_at_daily_limit(personas, smtp_sink, n=7, limit=2)
    progress = selectors.campaign_progress(fresh(setup.campaign))
    tomorrow = timezone.now().astimezone(BERLIN).date() + timedelta(days=3)
    # 5 waiting at 2 a day: the next three days; the last one goes on the third.
    assert progress.finishes_at is not None
    assert progress.finishes_at.astimezone(BERLIN).date() == tomorrow
    assert "Europe/Berlin" in progress.finishes_text


def test_the_form_warns_when_the_audience_is_more_than_the_accounts_send_today(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    setup.account.daily_limit = 3
    setup.account.save(update_fields=["daily_limit"])
    list_id = setup.campaign.lists.get().pk
    client = Client()
    client.force_login(personas.editor)
    url = f"/campaigns/audience/?lists={list_id}&accounts={setup.account.pk}"
    page = client.get(url).content.decode()
    assert "data-capacity-warning" in page
    assert "can send 3 more messages today" in page
    assert "takes 2 days" in page
    setup.account.daily_limit = 5
    setup.account.save(update_fields=["daily_limit"])
    assert "data-capacity-warning" not in client.get(url).content.decode()
    # Another workspace's account gives no room.
    foreign = SendingAccountFactory.create(workspace=personas.other_workspace, daily_limit=99)
    foreign_url = f"/campaigns/audience/?lists={list_id}&accounts={foreign.pk}"
    assert "cannot send this audience at all" in client.get(foreign_url).content.decode()


def test_the_api_stats_say_the_campaign_is_held_and_until_when(personas, smtp_sink):
    setup, _ = held_at_daily_limit(personas, smtp_sink, n=5, limit=2)
    client = Client()
    client.force_login(personas.viewer)
    stats = client.get(f"/api/campaigns/{setup.campaign.pk}/stats/").json()
    assert stats["held"] == "daily limit of the account reached; resumes at 00:00 Europe/Berlin"
    midnight = quota.next_local_midnight(personas.workspace, timezone.now())
    assert datetime.fromisoformat(stats["resumes_at"]) == midnight
    assert stats["eta_seconds"] > 24 * 3600  # 3 more at 2 a day: the day after tomorrow


def test_a_campaign_whose_only_account_is_in_error_says_a_person_must_act(personas, smtp_sink):
    from sending.services import account_mark_error

    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    setup.account.name = "Newsletter SMTP"
    setup.account.save(update_fields=["name"])
    campaign_start(campaign=setup.campaign)
    account_mark_error(account=setup.account, reason="535 no")
    hold = selectors.campaign_progress(fresh(setup.campaign)).hold
    assert hold is not None
    assert hold.resumes_at is None
    assert hold.text == "no sending account of the campaign can send (Newsletter SMTP is in error)"


def test_the_form_warns_when_the_audience_outlasts_the_campaigns_lifetime(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=9)
    setup.account.daily_limit = 2  # 9 at 2 a day: 5 days, counting today
    setup.account.save(update_fields=["daily_limit"])
    list_id = setup.campaign.lists.get().pk
    client = Client()
    client.force_login(personas.editor)
    url = f"/campaigns/audience/?lists={list_id}&accounts={setup.account.pk}"

    page = client.get(url).content.decode()  # the default lifetime, 3 days
    assert "takes 5 days" in page
    assert "data-lifetime-warning" in page
    assert "gives up after 3 days" in page
    assert "data-lifetime-warning" not in client.get(f"{url}&lifetime_days=5").content.decode()
    assert "gives up after 4 days" in client.get(f"{url}&lifetime_days=4").content.decode()
    # Not a number of days: the default, never an error.
    assert "gives up after 3 days" in client.get(f"{url}&lifetime_days=x").content.decode()
