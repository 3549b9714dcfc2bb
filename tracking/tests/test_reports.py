"""The campaign report, the recipient timeline and the workspace's rates, from recorded
events: figures, CSV, the pages and the query count on a large campaign."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from audience.models import Recipient
from campaigns import services
from campaigns.models import Attempt, Campaign, SentTally
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from tracking import reports, resends
from tracking.models import BounceType, Event, EventKind, EventSource
from tracking.tests.reporting import happened, sent_world

pytestmark = pytest.mark.django_db
K = EventKind

ADDRESSES = [
    "ann@gmail.com",
    "bob@gmail.com",
    "cid@outlook.com",
    "dan@yahoo.com",
    "eve@mail.ru",
    "fay@yandex.ru",
    "gus@gmail.com",
    "hal@Example.org",
]


@pytest.fixture
def world(personas):
    w = sent_world(personas.workspace, ADDRESSES)
    d, t = w.deliveries, w.start
    # ann: opened twice (once by a proxy), clicked link 0 twice; bob: a proxy open only;
    # cid: a hard bounce; dan: a soft bounce and a complaint; eve: clicked without an open
    # (images off), and a link scanner clicked link 1; fay: unsubscribed and replied.
    happened(d["ann@gmail.com"], K.OPENED, t + timedelta(minutes=30), machine=True)
    happened(d["ann@gmail.com"], K.OPENED, t + timedelta(hours=1, minutes=5))
    happened(
        d["ann@gmail.com"],
        K.CLICKED,
        t + timedelta(hours=1, minutes=6),
        link_index=0,
        url="https://acme.test/a",
    )
    happened(
        d["ann@gmail.com"],
        K.CLICKED,
        t + timedelta(hours=3),
        link_index=0,
        url="https://acme.test/a",
    )
    happened(d["bob@gmail.com"], K.OPENED, t + timedelta(seconds=5), machine=True)
    happened(
        d["cid@outlook.com"],
        K.BOUNCED,
        t + timedelta(minutes=1),
        bounce_type=BounceType.HARD,
        status_code="5.1.1",
        source=EventSource.MAILBOX,
    )
    happened(
        d["dan@yahoo.com"],
        K.BOUNCED,
        t + timedelta(minutes=2),
        bounce_type=BounceType.SOFT,
        status_code="4.2.2",
        source=EventSource.MAILBOX,
    )
    happened(d["dan@yahoo.com"], K.COMPLAINED, t + timedelta(hours=5), source=EventSource.MAILBOX)
    happened(
        d["eve@mail.ru"], K.CLICKED, t + timedelta(hours=2), link_index=1, url="https://acme.test/b"
    )
    happened(
        d["eve@mail.ru"],
        K.CLICKED,
        t + timedelta(seconds=1),
        link_index=1,
        url="https://acme.test/b",
        machine=True,
    )
    happened(d["fay@yandex.ru"], K.UNSUBSCRIBED, t + timedelta(hours=6))
    happened(d["fay@yandex.ru"], K.REPLIED, t + timedelta(hours=7), source=EventSource.MAILBOX)
    return w


def test_the_summary_counts_people_once_and_leaves_machines_out(world):
    s = reports.campaign_summary(world.campaign)

    assert (s.sent, s.bounced, s.bounced_hard, s.bounced_soft) == (8, 2, 1, 1)
    assert s.delivered == 6
    assert (s.complaints, s.unsubscribes, s.replies) == (1, 1, 1)
    # People: ann (open + clicks) and eve (a click is an open); all: bob's proxy too.
    assert (s.opens_human, s.opens_all, s.open_events) == (2, 3, 3)
    assert (s.clicks_human, s.clicks_all, s.click_events) == (2, 2, 4)
    assert s.open_rate == 33.33
    assert s.click_rate == 33.33
    assert s.click_to_open_rate == 100.0


def test_the_first_48_hours_are_hourly_people_per_kind(world):
    hours = reports.campaign_hours(world.campaign)

    assert len(hours.labels) == 48
    assert hours.opens[1] == 1  # ann at +1h05; the proxy opens at +0h are left out
    assert sum(hours.opens) == 1
    assert hours.clicks[1] == 1
    assert hours.clicks[2] == 1
    assert hours.clicks[3] == 1
    assert hours.clicks[0] == 0  # the scanner


def test_clicks_per_link(world):
    links = {r.link_index: r for r in reports.campaign_links(world.campaign)}

    assert links[0].url == "https://acme.test/a"
    assert (links[0].clicks_human, links[0].clicks_all, links[0].click_events) == (1, 1, 2)
    assert (links[1].clicks_human, links[1].clicks_all, links[1].click_events) == (1, 1, 2)


def test_results_per_receiving_domain_and_account(world):
    domains = {r.key: r for r in reports.campaign_domains(world.campaign)}

    assert next(iter(domains)) == "gmail.com"  # most sent first
    assert (domains["gmail.com"].sent, domains["gmail.com"].opens_human) == (3, 1)
    assert domains["outlook.com"].bounced == 1
    assert domains["outlook.com"].delivered == 0
    assert domains["yahoo.com"].complaints == 1
    assert domains["mail.ru"].clicks_human == 1
    assert domains["yandex.ru"].unsubscribes == 1
    assert "example.org" in domains  # lower-cased

    accounts = {r.key: r for r in reports.campaign_accounts(world.campaign)}
    assert accounts["Account 1"].sent == 4
    assert accounts["Account 2"].sent == 4
    assert accounts["Account 1"].bounced + accounts["Account 2"].bounced == 2


def test_the_report_page_shows_the_figures_and_the_chart_data(world, viewer_client):
    url = reverse("tracking:campaign_report", kwargs={"campaign_id": world.campaign.pk})
    page = viewer_client.get(url).content.decode()

    assert 'data-figure="bounced">2 <span class="muted text-sm">(1 / 1)' in page
    assert 'id="report-hours-data"' in page
    assert "yandex.ru" in page
    assert "Account 2" in page
    detail = viewer_client.get(
        reverse("campaigns:detail", kwargs={"campaign_id": world.campaign.pk})
    )
    assert url in detail.content.decode()


@pytest.mark.parametrize("part", reports.CSV_PARTS)
def test_every_part_of_the_report_downloads_as_csv(world, viewer_client, part):
    url = reverse(
        "tracking:campaign_report_csv", kwargs={"campaign_id": world.campaign.pk, "part": part}
    )
    response = viewer_client.get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) > 1
    if part == "summary":
        assert ["delivered", "6"] in rows
    if part == "domains":
        assert rows[1][:3] == ["gmail.com", "3", "3"]


def test_an_unknown_csv_part_is_404(world, viewer_client):
    url = reverse(
        "tracking:campaign_report_csv", kwargs={"campaign_id": world.campaign.pk, "part": "x"}
    )
    assert viewer_client.get(url).status_code == 404


def _report_queries(owner_client, workspace, n: int, name: str) -> int:
    w = sent_world(workspace, [f"p{i}@d{i % 7}.test" for i in range(n)], name=name)
    for i, delivery in enumerate(w.deliveries.values()):
        happened(delivery, K.OPENED, w.start + timedelta(hours=i % 50))
        happened(delivery, K.CLICKED, w.start + timedelta(hours=i % 50), link_index=i % 3)
    url = reverse("tracking:campaign_report", kwargs={"campaign_id": w.campaign.pk})
    owner_client.get(url)  # the session's first-visit writes
    reports.REPORT_FLIGHT.invalidate(w.campaign.pk)  # computed again, not from the cache
    resends.OPTIONS_FLIGHT.invalidate(w.campaign.pk)
    with CaptureQueriesContext(connection) as captured:
        assert owner_client.get(url).status_code == 200
    return len(captured)


def test_the_report_costs_the_same_queries_however_many_events(personas, owner_client):
    small = _report_queries(owner_client, personas.workspace, 3, "Small")
    large = _report_queries(owner_client, personas.workspace, 90, "Large")

    assert large == small


def test_the_timeline_shows_attempts_and_events_newest_first_paged(world, viewer_client):
    ann = world.deliveries["ann@gmail.com"]
    Attempt.objects.create(
        workspace=ann.workspace,
        campaign=world.campaign,
        delivery=ann,
        email=ann.email,
        outcome="sent",
        smtp_code=250,
        reply="250 ok",
        created_at=world.start,
    )
    recipient = Recipient.objects.get(workspace=ann.workspace, email="ann@gmail.com")
    first = reports.recipient_timeline(ann.workspace, recipient, per_page=3)

    assert [r.kind for r in first.rows] == ["clicked", "clicked", "opened"]
    assert first.next_cursor
    assert not first.previous_cursor
    second = reports.recipient_timeline(
        ann.workspace, recipient, after=first.next_cursor, per_page=3
    )
    assert [r.kind for r in second.rows] == ["opened", "attempt"]
    assert second.rows[0].machine
    assert not second.next_cursor

    url = reverse("tracking:recipient_timeline", kwargs={"recipient_id": recipient.pk})
    page = viewer_client.get(url).content.decode()
    assert page.index('data-kind="clicked"') < page.index('data-kind="attempt"')
    detail = reverse("audience:recipient_detail", kwargs={"recipient_id": recipient.pk})
    assert url in viewer_client.get(detail).content.decode()


def test_the_timeline_shows_nothing_of_another_workspace(world, personas):
    other = sent_world(personas.other_workspace, ["ann@gmail.com"], name="Theirs")
    happened(other.deliveries["ann@gmail.com"], K.BOUNCED, timezone.now())
    recipient = Recipient.objects.get(workspace=personas.workspace, email="ann@gmail.com")
    rows = reports.recipient_timeline(personas.workspace, recipient, per_page=100).rows

    assert "bounced" not in {r.kind for r in rows}
    assert {r.campaign for r in rows} == {"Spring"}


def test_the_timeline_reads_attempts_by_their_deliveries_not_by_the_address(world, personas):
    """Attempts have no index on the address: read by it, a recipient with less than a page
    of attempts had the workspace's whole history scanned (bench_pages: 1.1 s of 20 million).
    Those of a delivery sent to the address that no longer points at the recipient stay."""
    ann = world.deliveries["ann@gmail.com"]
    recipient = Recipient.objects.get(workspace=personas.workspace, email="ann@gmail.com")
    earlier = CampaignFactory.create(workspace=personas.workspace, name="Winter", bare=True)
    unlinked = DeliveryFactory.create(
        campaign=earlier, recipient=None, email="Ann@gmail.com", status="sent", sent_at=world.start
    )
    for delivery, at in ((ann, world.start), (unlinked, world.start - timedelta(days=9))):
        Attempt.objects.create(
            workspace=personas.workspace,
            campaign=delivery.campaign,
            delivery=delivery,
            email="ann@gmail.com",
            outcome="sent",
            created_at=at,
        )

    with CaptureQueriesContext(connection) as queries:
        rows = reports.recipient_timeline(personas.workspace, recipient, per_page=100).rows

    assert [r.campaign for r in rows if r.kind == "attempt"] == ["Spring", "Winter"]
    (read,) = [q["sql"] for q in queries if 'FROM "campaigns_attempt"' in q["sql"]]
    assert '"campaigns_attempt"."delivery_id" IN' in read, read


def test_rates_over_30_days_and_the_warning(personas, owner_client):
    w = sent_world(personas.workspace, [f"r{i}@x.test" for i in range(100)])
    Attempt.objects.bulk_create(
        Attempt(
            workspace=personas.workspace,
            campaign=w.campaign,
            delivery=d,
            email=d.email,
            outcome=outcome,
        )
        for d in w.deliveries.values()
        for outcome in ("temporary", "sent")
    )  # 100 messages sent today; the failed tries before them are not messages
    url = reverse("tracking:deliverability")
    quiet = owner_client.get(url).content.decode()
    assert "data-warning" not in quiet

    people = list(w.deliveries.values())
    happened(people[0], K.COMPLAINED, timezone.now(), source=EventSource.MAILBOX)
    for d in people[1:5]:
        happened(
            d, K.BOUNCED, timezone.now(), bounce_type=BounceType.HARD, source=EventSource.MAILBOX
        )
    rates = reports.workspace_rates(personas.workspace, now=timezone.now())
    assert (rates.complaint_rate, rates.bounce_rate) == (1.0, 4.0)
    assert rates.complaint_rates[-1] == 1.0
    assert len(rates.labels) == 30
    assert rates.complaint_warning
    assert rates.bounce_warning

    loud = owner_client.get(url).content.decode()
    assert 'data-warning="complaints"' in loud
    assert 'data-warning="bounces"' in loud
    assert "&quot;limits&quot;: {&quot;bounces&quot;: 5.0, &quot;complaints&quot;: 0.3}" in loud
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    assert url in dashboard


def test_rates_are_counted_by_the_workspaces_days(personas, time_machine):
    """A message sent and bounced at 20:00 UTC is the next morning in Vladivostok: it counts
    on that day, as the workspace's limits and dashboard count it, not on the UTC day."""
    time_machine.move_to("2026-11-21 20:00:00Z", tick=False)
    personas.workspace.time_zone = "Asia/Vladivostok"  # UTC+10
    personas.workspace.save()
    w = sent_world(personas.workspace, ["r0@x.test", "r1@x.test"])
    Attempt.objects.bulk_create(
        Attempt(
            workspace=personas.workspace,
            campaign=w.campaign,
            delivery=d,
            email=d.email,
            outcome="sent",
            created_at=timezone.now(),
        )
        for d in w.deliveries.values()
    )
    happened(
        w.deliveries["r0@x.test"], K.BOUNCED, timezone.now(),
        bounce_type=BounceType.HARD, source=EventSource.MAILBOX,
    )  # fmt: skip

    rates = reports.workspace_rates(personas.workspace, now=timezone.now())
    assert rates.labels[-1] == "2026-11-22"
    assert rates.labels[0] == "2026-10-24"
    assert rates.bounce_rates[-1] == 50.0
    assert sum(rates.bounce_rates[:-1]) == 0


def test_the_api_serves_every_figure_of_the_report(world, api_for):
    url = reverse("api:campaign-report", kwargs={"campaign_id": world.campaign.pk})
    body = api_for("viewer").get(url).json()

    assert body["summary"]["delivered"] == 6
    assert body["summary"]["click_to_open_rate"] == 100.0
    assert len(body["hours"]["opens_human"]) == 48
    assert {r["link_index"] for r in body["links"]} == {0, 1}
    assert body["domains"][0]["domain"] == "gmail.com"
    assert sum(r["sent"] for r in body["accounts"]) == 8


def test_the_charts_name_their_lines_in_the_page_language(personas):
    from django.utils import translation

    hours = reports.Hours(None, ["+0h"], [0], [0])
    rates = reports.workspace_rates(personas.workspace, now=timezone.now())
    assert hours.chart()["names"] == {"opens": "Opens", "clicks": "Clicks"}
    with translation.override("ru"):
        assert hours.chart()["names"] == {"opens": "Открытия", "clicks": "Клики"}
        assert rates.chart()["names"] == {"bounces": "Возвраты", "complaints": "Жалобы"}
        assert rates.chart()["limit_names"] == {
            "bounces": "Лимит возвратов",
            "complaints": "Лимит жалоб",
        }


def test_the_hours_of_the_chart_are_said_in_the_readers_language():
    campaign = CampaignFactory.create(bare=True)
    with translation.override("en"):
        assert reports.campaign_hours(campaign).labels[:2] == ["+0h", "+1h"]
    with translation.override("ru"):
        assert reports.campaign_hours(campaign).labels[:2] == ["+0 ч", "+1 ч"]


# ----------------------------------------------------------------- at scale
# A frozen campaign's sent figures come from the tallies kept when it froze, the figures per
# account from the events' own account (neither reads the campaign's deliveries), and the
# page computes the report at most once a minute.


def _figures(campaign: Campaign) -> tuple[object, ...]:
    return (
        reports.campaign_summary(campaign),
        reports.campaign_domains(campaign),
        reports.campaign_accounts(campaign),
    )


def test_every_event_carries_its_deliverys_account(world):
    events = Event.objects.filter(campaign=world.campaign)
    assert events.exists()
    for event in events:
        assert event.account_id == world.deliveries[event.email].account_id is not None


def test_a_frozen_campaigns_report_reads_its_kept_tallies_not_its_deliveries(world):
    live = _figures(world.campaign)
    assert services.campaigns_freeze_counts(campaign_ids=[world.campaign.pk]) == 1
    tallies = {
        (t.domain, t.account.name if t.account else None): t.sent
        for t in SentTally.objects.filter(campaign=world.campaign)
    }
    assert tallies == {
        ("gmail.com", "Account 1"): 2,  # ann and gus
        ("gmail.com", "Account 2"): 1,  # bob
        ("outlook.com", "Account 1"): 1,
        ("yahoo.com", "Account 2"): 1,
        ("mail.ru", "Account 1"): 1,
        ("yandex.ru", "Account 2"): 1,
        ("example.org", "Account 2"): 1,  # lower-cased
    }
    frozen = Campaign.objects.get(pk=world.campaign.pk)

    with CaptureQueriesContext(connection) as queries:
        kept = _figures(frozen)

    assert kept == live
    read = [q["sql"] for q in queries.captured_queries if "campaigns_delivery" in q["sql"]]
    assert read == []


def test_freezing_twice_keeps_one_set_of_tallies(world):
    services.campaigns_freeze_counts(campaign_ids=[world.campaign.pk])
    services.campaigns_freeze_counts(campaign_ids=[world.campaign.pk])

    assert (
        sum(SentTally.objects.filter(campaign=world.campaign).values_list("sent", flat=True)) == 8
    )


def expire_the_cached_report(campaign_id: int) -> None:
    version = cache.get(f"report:version:{campaign_id}") or 0
    cache.delete(f"report:figures:{campaign_id}:{version}")


def test_the_page_computes_the_report_once_a_minute_and_says_when(world, viewer_client):
    url = reverse("tracking:campaign_report", kwargs={"campaign_id": world.campaign.pk})
    assert 'data-figure="complaints">1<' in viewer_client.get(url).content.decode()
    happened(world.deliveries["bob@gmail.com"], K.COMPLAINED, world.start + timedelta(hours=9))

    with CaptureQueriesContext(connection) as queries:
        kept = viewer_client.get(url).content.decode()
    assert 'data-figure="complaints">1<' in kept  # the figures of a moment ago
    assert not [q for q in queries.captured_queries if "tracking_event" in q["sql"]]
    assert 'id="report-computed-at"' in kept

    expire_the_cached_report(world.campaign.pk)  # its minute ran out (a TTL the cache keeps)
    assert 'data-figure="complaints">2<' in viewer_client.get(url).content.decode()


def test_the_api_says_when_the_figures_were_computed(world, api_for, time_machine):
    now = timezone.now().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    url = reverse("api:campaign-report", kwargs={"campaign_id": world.campaign.pk})
    body = api_for("viewer").get(url).json()
    assert parse_datetime(body["computed_at"]) == now
