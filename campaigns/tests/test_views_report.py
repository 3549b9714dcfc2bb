"""The report of a campaign and the workspace's log: filters, keyset pages and CSV export."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Workspace
from audience.models import Recipient
from campaigns.models import Attempt, AttemptOutcome, Campaign, CampaignStatus, Delivery
from campaigns.tests.factories import CampaignFactory
from campaigns.tests.test_views_campaigns import form_data, make_world, run_engine
from core.testing.sql import compiled_by_the_orm, lookups, statements
from sending.models import SendingAccount

pytestmark = pytest.mark.django_db


def csv_of(response: Any) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = b"".join(response.streaming_content)
    assert data.startswith(codecs.BOM_UTF8)  # spreadsheets read it as UTF-8
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def sent_campaign(workspace: Workspace, client: Any) -> Campaign:
    world = make_world(workspace)
    client.post(reverse("campaigns:create"), form_data(world))
    campaign = Campaign.objects.get(workspace=workspace)
    client.post(reverse("campaigns:start", kwargs={"campaign_id": campaign.pk}))
    run_engine()
    return campaign


def many_deliveries(workspace: Workspace, n: int, prefix: str = "p") -> Campaign:
    campaign = CampaignFactory.create(
        workspace=workspace, name="Big", status=CampaignStatus.COMPLETED, bare=True
    )
    people = Recipient.objects.bulk_create(  # one insert each: up to 200 rows
        [Recipient(workspace=workspace, email=f"{prefix}{i:03}@example.test") for i in range(n)]
    )
    Delivery.objects.bulk_create(
        [
            Delivery(
                workspace=workspace,
                campaign=campaign,
                recipient=r,
                email=r.email,
                status="sent" if i % 2 else "failed",
            )
            for i, r in enumerate(people)
        ]
    )
    return campaign


def test_the_report_filters_by_status_and_address(personas, owner_client):
    campaign = many_deliveries(personas.workspace, 10)
    url = reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    page = owner_client.get(url, {"status": "failed"}).content.decode()
    assert "p000@example.test" in page
    assert "p001@example.test" not in page
    page = owner_client.get(url, {"q": "p00"}).content.decode()
    assert page.count("@example.test</a></td>") == 10
    page = owner_client.get(url, {"q": "p003"}).content.decode()
    assert page.count("@example.test</a></td>") == 1


def test_the_report_pages_by_keyset_without_counting(
    personas, owner_client, django_assert_max_num_queries
):
    campaign = many_deliveries(personas.workspace, 120)
    url = reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    first = owner_client.get(url).content.decode()
    assert "p049@example.test" in first
    assert "p050@example.test" not in first
    cursor = first.split("after=")[1].split('"')[0]
    with django_assert_max_num_queries(20) as captured:
        second = owner_client.get(url, {"after": cursor}).content.decode()
    assert "p050@example.test" in second
    assert "p049@example.test" not in second
    delivery_selects = [
        q["sql"] for q in captured.captured_queries if "campaigns_delivery" in q["sql"]
    ]
    assert not any("OFFSET" in sql for sql in delivery_selects)


def test_the_report_exports_csv_with_the_filter(personas, owner_client):
    campaign = sent_campaign(personas.workspace, owner_client)
    url = reverse("campaigns:deliveries_csv", kwargs={"campaign_id": campaign.pk})
    rows = csv_of(owner_client.get(url))
    assert rows[0][:3] == ["email", "status", "attempts"]
    assert sorted(r[0] for r in rows[1:]) == [f"r{i}@example.test" for i in range(4)]
    assert {r[1] for r in rows[1:]} == {"sent"}
    assert {r[3] for r in rows[1:]} == {"Capture"}
    assert len(csv_of(owner_client.get(url, {"status": "failed"}))) == 1


def test_the_log_shows_every_attempt_with_filters(personas, owner_client):
    campaign = sent_campaign(personas.workspace, owner_client)
    delivery = Delivery.objects.filter(campaign=campaign).first()
    assert delivery is not None
    other = SendingAccount.objects.create(
        workspace=personas.workspace, name="Other", from_email="o@example.com"
    )
    old = timezone.now() - timedelta(days=10)
    Attempt.objects.create(
        workspace=personas.workspace,
        campaign=campaign,
        delivery=delivery,
        account=other,
        email="late@example.test",
        outcome=AttemptOutcome.TEMPORARY,
        smtp_code=451,
        enhanced_code="4.3.0",
        reply="451 4.3.0 Try again later",
        created_at=old,
    )
    url = reverse("campaigns:logs")
    page = owner_client.get(url).content.decode()
    assert page.count('data-outcome="sent"') == 4
    assert "451 4.3.0 Try again later" in page

    def shown(**params: Any) -> int:
        body: str = owner_client.get(url, params).content.decode()
        return body.count("data-outcome=")

    assert shown(outcome="temporary") == 1
    assert shown(account=other.pk) == 1
    assert shown(email="r0@") == 1
    assert shown(campaign=campaign.pk) == 5
    assert shown(since=(timezone.now() - timedelta(days=1)).date().isoformat()) == 4
    assert shown(until=(timezone.now() - timedelta(days=5)).date().isoformat()) == 1
    assert shown(account=999999) == 5  # not a choice: the filter is ignored, with a message
    assert "Select a valid choice" in owner_client.get(url, {"account": 999999}).content.decode()


def test_the_log_pages_newest_first_by_keyset(personas, owner_client):
    campaign = many_deliveries(personas.workspace, 1)
    delivery = Delivery.objects.get()
    start = timezone.now()
    Attempt.objects.bulk_create(
        [
            Attempt(
                workspace=personas.workspace,
                campaign=campaign,
                delivery=delivery,
                email=f"a{i:03}@example.test",
                outcome="sent",
                created_at=start - timedelta(seconds=i // 2),  # pairs share a time
            )
            for i in range(70)
        ]
    )
    first = owner_client.get(reverse("campaigns:logs")).content.decode()
    cursor = first.split("after=")[1].split('"')[0]
    second = owner_client.get(reverse("campaigns:logs"), {"after": cursor}).content.decode()
    seen = [f"a{i:03}@" for i in range(70)]
    on_first = [s for s in seen if s in first]
    on_second = [s for s in seen if s in second]
    assert len(on_first) == 50
    assert len(on_second) == 20
    assert not set(on_first) & set(on_second)


def test_the_log_exports_csv_neutralising_formulas_and_nothing_foreign(personas, owner_client):
    campaign = many_deliveries(personas.workspace, 1)
    delivery = Delivery.objects.get()
    Attempt.objects.create(
        workspace=personas.workspace,
        campaign=campaign,
        delivery=delivery,
        email=delivery.email,
        outcome="permanent",
        smtp_code=550,
        reply='=HYPERLINK("http://evil.example")',
    )
    foreign = many_deliveries(personas.other_workspace, 1)
    Attempt.objects.create(
        workspace=personas.other_workspace,
        campaign=foreign,
        delivery=Delivery.objects.get(campaign=foreign),
        email="foreign@example.test",
        outcome="sent",
    )
    response = owner_client.get(reverse("campaigns:logs"), {"export": "csv"})
    rows = csv_of(response)
    assert rows[0] == [
        "time", "campaign", "email", "account", "outcome", "smtp_code", "enhanced_code",
        "reply", "message_id",
    ]  # fmt: skip
    assert len(rows) == 2
    assert rows[1][7] == '\'=HYPERLINK("http://evil.example")'
    assert rows[1][5] == "550"


def test_viewers_read_the_report_and_the_log(personas, owner_client, viewer_client):
    campaign = sent_campaign(personas.workspace, owner_client)
    kwargs = {"campaign_id": campaign.pk}
    assert viewer_client.get(reverse("campaigns:detail", kwargs=kwargs)).status_code == 200
    assert viewer_client.get(reverse("campaigns:logs")).status_code == 200
    assert len(csv_of(viewer_client.get(reverse("campaigns:deliveries_csv", kwargs=kwargs)))) == 5


def test_the_report_links_its_attempts_and_their_csv(personas, owner_client):
    campaign = sent_campaign(personas.workspace, owner_client)
    page = owner_client.get(reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}))
    link = f"/logs/?campaign={campaign.pk}&amp;export=csv"
    assert link in page.content.decode()
    rows = csv_of(owner_client.get(link.replace("&amp;", "&")))
    assert len(rows) == 5
    assert {r[1] for r in rows[1:]} == {"Spring news"}


def test_the_report_and_the_log_cost_the_same_queries_for_any_size(personas, owner_client):
    owner_client.get(reverse("campaigns:logs"))  # the session's first request does more

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(url).status_code == 200
        return len(captured.captured_queries)

    small = many_deliveries(personas.workspace, 3, prefix="s")
    big = many_deliveries(personas.workspace, 200, prefix="b")
    for campaign in (small, big):
        for delivery in Delivery.objects.filter(campaign=campaign):
            Attempt.objects.create(
                workspace=personas.workspace,
                campaign=campaign,
                delivery=delivery,
                email=delivery.email,
                outcome="sent",
            )
    detail = [
        queries(reverse("campaigns:detail", kwargs={"campaign_id": c.pk})) for c in (small, big)
    ]
    assert detail[0] == detail[1]
    logs = [queries(f"/logs/?campaign={c.pk}") for c in (small, big)]
    assert logs[0] == logs[1]


def test_a_campaigns_pages_read_it_by_a_query_compiled_once(personas, owner_client):
    """Its page, and its progress polled every few seconds while it sends, read the campaign
    by id on every request: compiled once (core.compiled), as the ORM would write it."""
    campaign = sent_campaign(personas.workspace, owner_client)
    for name in ("campaigns:detail", "campaigns:progress"):
        url = reverse(name, kwargs={"campaign_id": campaign.pk})
        owner_client.get(url)  # the first request compiles it
        assert lookups(statements(owner_client, url), "campaigns_campaign", "id")
        assert lookups(compiled_by_the_orm(owner_client, url), "campaigns_campaign", "id") == []


def test_the_campaign_page_reads_its_accounts_test_and_template_once(
    personas, owner_client, django_assert_max_num_queries
):
    # The page read the campaign's accounts twice (its list, and again for the deliveries'
    # cells), its A/B test and its template's name each in a query of its own: 13 queries.
    # A delivery sent through an account since taken off the campaign still shows its name.
    campaign = sent_campaign(personas.workspace, owner_client)
    kept = campaign.accounts.get()
    url = reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    owner_client.get(url)  # the session's first request does more
    with django_assert_max_num_queries(10):
        page = owner_client.get(url).content.decode()
    assert f'<td class="whitespace-nowrap">{kept.name}</td>' in page
    assert "Welcome" in page  # the template's name
    gone = SendingAccount.objects.create(
        workspace=personas.workspace, name="Old relay", from_email="old@example.com"
    )
    first = Delivery.objects.filter(campaign=campaign).order_by("pk")[0]
    Delivery.objects.filter(pk=first.pk).update(account=gone)
    with django_assert_max_num_queries(11):  # that one account is read
        page = owner_client.get(url).content.decode()
    assert '<td class="whitespace-nowrap">Old relay</td>' in page
    assert f'<td class="whitespace-nowrap">{kept.name}</td>' in page
