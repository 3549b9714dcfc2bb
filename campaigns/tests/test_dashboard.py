"""The dashboard: its figures, the chart's data island, the local day, the cache."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import Workspace
from campaigns import dashboard
from campaigns.editing import campaign_delete
from campaigns.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    DayTally,
    Delivery,
)
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from campaigns.tests.test_views_campaigns import form_data, make_world, run_engine
from content.models import Template
from sending.models import SendingAccount

pytestmark = pytest.mark.django_db


def attempts(workspace: Workspace, campaign: Campaign, when: datetime, outcomes: list[str]) -> None:
    delivery = Delivery.objects.filter(campaign=campaign).first() or DeliveryFactory.create(
        campaign=campaign, recipient=None, email="x@example.test"
    )
    Attempt.objects.bulk_create(
        [
            Attempt(
                workspace=workspace,
                campaign=campaign,
                delivery=delivery,
                email=delivery.email,
                outcome=o,
                created_at=when,
            )
            for o in outcomes
        ]
    )


def test_the_dashboard_shows_the_workspace_figures(personas, owner_client):
    world = make_world(personas.workspace)
    owner_client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get()
    owner_client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    run_engine()
    CampaignFactory.create(
        bare=True, workspace=personas.workspace, name="Later", status="scheduled"
    )
    CampaignFactory.create(bare=True, workspace=personas.workspace, name="Single", is_single=True)
    make_world(personas.other_workspace, n=9)  # another workspace counts nowhere

    page = owner_client.get(reverse("dashboard")).content.decode()

    assert 'data-figure="recipients"><a href="/recipients/">4<' in page
    assert 'data-figure="templates"><a href="/templates/">2<' in page
    assert 'data-figure="campaigns"><a href="/campaigns/">1 / 2<' in page
    assert 'data-figure="reached">4<' in page
    assert 'data-figure="waiting"><a href="/campaigns/">0<' in page
    assert 'data-today="sent">4<' in page
    assert 'data-month="sent">4<' in page
    assert 'data-account-use="news@example.com">4 / 1000<' in page


def test_the_chart_data_is_a_json_island_and_no_inline_script(personas, owner_client):
    world = make_world(personas.workspace)
    campaign = CampaignFactory.create(bare=True, workspace=personas.workspace, name="C")
    now = timezone.now()
    attempts(personas.workspace, campaign, now, ["sent", "sent", "temporary", "permanent"])
    # The delivery ended failed with its last try, the refusal; the 4xx before it was retried.
    Delivery.objects.filter(campaign=campaign).update(status="failed")
    attempts(personas.workspace, campaign, now - timedelta(days=3), ["sent"])
    attempts(personas.workspace, campaign, now - timedelta(days=45), ["sent"])  # out of range
    del world

    page = owner_client.get(reverse("dashboard")).content.decode()

    start = page.index('<script id="dashboard-chart-data" type="application/json">')
    island = page[start:].split(">", 1)[1].split("</script>", 1)[0]
    chart = json.loads(island)
    assert len(chart["labels"]) == 30
    assert chart["series"]["sent"][-1] == 2
    assert chart["series"]["sent"][-4] == 1
    assert sum(chart["series"]["sent"]) == 3
    assert chart["series"]["retried"][-1] == 1
    assert chart["series"]["failed"][-1] == 1
    assert "/static/vendor/chart.umd.min.js" in page
    assert "/static/js/charts.js" in page
    # Every <script> either loads a file or is the JSON data island: nothing inline to run.
    for tag in page.split("<script")[1:]:
        head = tag.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head


def test_today_is_the_workspace_local_day(personas, time_machine):
    workspace = personas.workspace
    workspace.time_zone = "Pacific/Auckland"  # UTC+13 in November
    workspace.save()
    campaign = CampaignFactory.create(bare=True, workspace=workspace, name="C")
    # 2026-11-21 10:30 UTC is already 23:30 there; 11:30 UTC is the next local day.
    time_machine.move_to("2026-11-21 11:30:00Z", tick=False)
    attempts(workspace, campaign, datetime(2026, 11, 21, 10, 30, tzinfo=ZoneInfo("UTC")), ["sent"])
    attempts(workspace, campaign, datetime(2026, 11, 21, 11, 5, tzinfo=ZoneInfo("UTC")), ["sent"])
    account = SendingAccount.objects.create(
        workspace=workspace, name="A", from_email="a@example.com", daily_limit=10
    )
    SendingAccount.objects.filter(pk=account.pk).update(sent_today=7, sent_day=date(2026, 11, 22))

    figures = dashboard.compute(workspace, timezone.now())

    assert figures.days[-1] == "2026-11-22"
    assert figures.today["sent"] == 1
    assert figures.series["sent"][-2:] == [1, 1]
    assert [(a.sent_today, a.percent) for a in figures.accounts] == [(7, 70)]


def test_the_account_use_restarts_on_a_new_local_day(personas):
    account = SendingAccount.objects.create(
        workspace=personas.workspace, name="A", from_email="a@example.com", daily_limit=10
    )
    yesterday = timezone.now().date() - timedelta(days=2)
    SendingAccount.objects.filter(pk=account.pk).update(sent_today=9, sent_day=yesterday)
    figures = dashboard.compute(personas.workspace, timezone.now())
    assert [a.sent_today for a in figures.accounts] == [0]


def test_the_second_render_comes_from_the_cache(
    personas, owner_client, django_assert_max_num_queries
):
    make_world(personas.workspace)
    with django_assert_max_num_queries(40) as first:
        owner_client.get(reverse("dashboard"))
    with django_assert_max_num_queries(len(first.captured_queries) - 6) as second:
        page = owner_client.get(reverse("dashboard")).content.decode()
    tables = ("campaigns_attempt", "campaigns_delivery", "audience_recipient", "content_template")
    assert not [q for q in second.captured_queries if any(t in q["sql"] for t in tables)]
    assert 'data-figure="recipients"><a href="/recipients/">4<' in page


def test_a_change_invalidates_the_cached_figures(personas, owner_client):
    world = make_world(personas.workspace)
    assert (
        'data-figure="campaigns"><a href="/campaigns/">0 / 0<'
        in owner_client.get(reverse("dashboard")).content.decode()
    )
    Template.objects.create(workspace=personas.workspace, name="Silent", subject="s")
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert 'data-figure="templates"><a href="/templates/">2<' in page  # still cached

    owner_client.post(reverse("campaigns:create"), form_data(world))  # bumps the version

    page = owner_client.get(reverse("dashboard")).content.decode()
    assert 'data-figure="campaigns"><a href="/campaigns/">0 / 1<' in page
    assert 'data-figure="templates"><a href="/templates/">3<' in page
    dashboard.invalidate(personas.workspace.pk)
    Campaign.objects.update(status=CampaignStatus.RUNNING)
    dashboard.invalidate(personas.workspace.pk)
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert 'data-figure="campaigns"><a href="/campaigns/">1 / 1<' in page


def test_the_figures_use_bounded_aggregates(personas, django_assert_max_num_queries):
    campaign = CampaignFactory.create(bare=True, workspace=personas.workspace, name="C")
    for days in range(0, 40, 3):
        attempts(
            personas.workspace,
            campaign,
            timezone.now() - timedelta(days=days),
            [AttemptOutcome.SENT] * 5,
        )
    # the six counts, the accounts, the kept days, the attempts of the past days and today,
    # and keeping the past days
    with django_assert_max_num_queries(11) as captured:
        figures = dashboard.compute(personas.workspace, timezone.now())
    attempt_sql = [q["sql"] for q in captured.captured_queries if "campaigns_attempt" in q["sql"]]
    assert len(attempt_sql) == 2  # the past 29 days, then today
    assert all("GROUP BY" in sql for sql in attempt_sql)
    assert all("created_at" in sql.split("WHERE", 1)[1] for sql in attempt_sql)
    assert figures.month["sent"] == 50  # 10 days within the 30, five each


def test_past_days_are_read_once_and_again_after_a_delete(
    personas, time_machine, django_assert_max_num_queries
):
    time_machine.move_to("2026-11-21 12:00:00Z", tick=False)
    workspace = personas.workspace
    kept = CampaignFactory.create(bare=True, workspace=workspace, name="Kept")
    gone = CampaignFactory.create(bare=True, workspace=workspace, name="Gone")
    attempts(workspace, kept, timezone.now() - timedelta(days=2), ["sent"] * 3)
    attempts(workspace, gone, timezone.now() - timedelta(days=2), ["sent"] * 4)
    assert dashboard.compute(workspace, timezone.now()).month["sent"] == 7

    attempts(workspace, kept, timezone.now(), ["sent"])
    with django_assert_max_num_queries(9) as captured:
        figures = dashboard.compute(workspace, timezone.now())
    attempt_sql = [q["sql"] for q in captured.captured_queries if "campaigns_attempt" in q["sql"]]
    assert len(attempt_sql) == 1  # today only: the past days are kept
    assert (figures.today["sent"], figures.month["sent"]) == (1, 8)

    campaign_delete(campaign=gone)
    assert dashboard.compute(workspace, timezone.now()).month["sent"] == 4


def test_waiting_messages_are_counted(personas):
    campaign = CampaignFactory.create(
        bare=True, workspace=personas.workspace, name="C", status="running"
    )
    for status in ["queued", "queued", "deferred", "sent", "sending"]:
        DeliveryFactory.create(campaign=campaign, status=status)
    assert dashboard.compute(personas.workspace, timezone.now()).waiting == 3


def test_the_chart_names_its_groups_in_the_page_language(personas):
    from django.utils import translation

    figures = dashboard.compute(personas.workspace, timezone.now())
    names = figures.chart["names"]
    assert isinstance(names, dict)
    assert names["retried"] == "Retried"
    with translation.override("ru"):
        assert figures.chart["names"] == {
            "sent": "Отправлено",
            "retried": "Повторено",
            "failed": "Не отправлено",
            "suppressed": "Исключено",
        }


def test_one_request_computes_expired_figures_while_the_others_show_the_last(
    personas, django_assert_num_queries
):
    # Under bench-load's 200 users, figures that ran out of time were computed by every
    # request that came meanwhile (15 at once, 5 s each on a day of 100,000 attempts).
    workspace = personas.workspace
    first = dashboard.figures(workspace)
    version = cache.get(f"dashboard:version:{workspace.pk}") or 0
    cache.delete(f"dashboard:figures:{workspace.pk}:{version}")  # the TTL ran out
    computing = f"dashboard:computing:{workspace.pk}:{version}"
    cache.add(computing, True)  # another request computes them
    Template.objects.create(workspace=workspace, name="New", subject="s")
    with django_assert_num_queries(0):
        assert dashboard.figures(workspace) == first
    cache.delete(computing)  # it is done (or died): compute
    assert dashboard.figures(workspace).templates == first.templates + 1


def test_an_invalidated_dashboard_is_computed_even_while_another_computes(personas):
    workspace = personas.workspace
    first = dashboard.figures(workspace)
    version = cache.get(f"dashboard:version:{workspace.pk}") or 0
    cache.add(f"dashboard:computing:{workspace.pk}:{version}", True)  # the old version's
    Template.objects.create(workspace=workspace, name="New", subject="s")
    dashboard.invalidate(workspace.pk)
    assert dashboard.figures(workspace).templates == first.templates + 1


def test_the_housekeeping_counts_past_days_once_and_a_new_zone_counts_them_again(
    personas, time_machine, django_assert_max_num_queries
):
    time_machine.move_to("2026-11-21 12:00:00Z", tick=False)
    workspace = personas.workspace
    campaign = CampaignFactory.create(bare=True, workspace=workspace, name="C")
    attempts(workspace, campaign, timezone.now() - timedelta(days=3), ["sent"] * 2 + ["suppressed"])
    attempts(workspace, campaign, timezone.now() - timedelta(days=45), ["sent"])  # out of range

    assert dashboard.keep_past_days(timezone.now()) >= dashboard.DAYS - 1
    assert dashboard.keep_past_days(timezone.now()) == 0  # nothing left to count
    kept = DayTally.objects.get(workspace=workspace, day=date(2026, 11, 18))
    assert (kept.zone, kept.sent, kept.suppressed, kept.failed) == (workspace.time_zone, 2, 1, 0)
    with django_assert_max_num_queries(9) as captured:
        figures = dashboard.compute(workspace, timezone.now())
    attempt_sql = [q["sql"] for q in captured.captured_queries if "campaigns_attempt" in q["sql"]]
    assert len(attempt_sql) == 1  # today's
    assert figures.month == {"sent": 2, "retried": 0, "failed": 0, "suppressed": 1}

    # Days of another zone are other days: counted again, the old ones left unread.
    Workspace.objects.filter(pk=workspace.pk).update(time_zone="Asia/Tokyo")
    workspace.refresh_from_db()
    assert dashboard.keep_past_days(timezone.now()) >= dashboard.DAYS - 1
    assert dashboard.compute(workspace, timezone.now()).month["sent"] == 2


def test_the_past_days_are_not_kept_in_the_first_minutes_of_a_day(personas, time_machine):
    time_machine.move_to("2026-11-21 00:05:00Z", tick=False)  # UTC's day began 5 minutes ago
    Workspace.objects.filter(pk=personas.workspace.pk).update(time_zone="UTC")
    personas.workspace.refresh_from_db()
    dashboard.compute(personas.workspace, timezone.now())

    assert dashboard.keep_past_days(timezone.now()) == 0
    assert not DayTally.objects.filter(workspace=personas.workspace).exists()


def test_recipients_reached_are_counted_every_ten_minutes(personas, owner_client, time_machine):
    time_machine.move_to("2026-11-21 12:00:00Z", tick=False)
    campaign = CampaignFactory.create(bare=True, workspace=personas.workspace, name="C")
    DeliveryFactory.create(campaign=campaign, status="sent", sent_at=timezone.now())
    assert dashboard.figures(personas.workspace).reached == 1

    DeliveryFactory.create(campaign=campaign, status="sent", sent_at=timezone.now())
    dashboard.invalidate(personas.workspace.pk)
    figures = dashboard.figures(personas.workspace)
    assert (figures.reached, figures.reached_at) == (1, timezone.now())  # the count of 12:00
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert "counted at 12:00, every 10 minutes" in page  # the workspace's zone: UTC

    cache.delete(f"dashboard:reached:{personas.workspace.pk}")  # its ten minutes ran out
    dashboard.invalidate(personas.workspace.pk)
    assert dashboard.figures(personas.workspace).reached == 2
