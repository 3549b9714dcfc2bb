"""Starting from a page or the API answers at once: the campaign is `launching`, and a worker
step creates its deliveries (the launch) before it runs."""

from __future__ import annotations

import signal
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audience.tests.factories import SegmentFactory
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, CampaignStatusChange, Delivery
from campaigns.services import campaign_queue_launch, campaigns_launch_queued
from campaigns.tests import processes
from campaigns.tests.api_setup import stage
from campaigns.tests.conftest import make_campaign


def _status(campaign: Campaign) -> str:
    campaign.refresh_from_db()
    return campaign.status


@pytest.mark.django_db
def test_the_start_button_answers_before_any_delivery_exists(personas, editor_client, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=4)
    kwargs = {"campaign_id": setup.campaign.pk}
    response = editor_client.post(reverse("campaigns:start", kwargs=kwargs))
    assert response.status_code == 302
    assert _status(setup.campaign) == CampaignStatus.LAUNCHING
    assert not Delivery.objects.exists()
    assert setup.campaign.content["subject"] == "Hello {first_name}"  # frozen at the start
    # The page polls while the worker launches, and reloads once the campaign has moved on.
    page = editor_client.get(reverse("campaigns:detail", kwargs=kwargs)).content.decode()
    assert "data-launching" in page
    assert "?status=launching" in page
    progress = reverse("campaigns:progress", kwargs=kwargs) + "?status=launching"
    polled = editor_client.get(progress, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in polled

    Engine().step()  # one worker step: the launch, then the batch
    assert Delivery.objects.filter(campaign=setup.campaign).count() == 4
    assert _status(setup.campaign) in (CampaignStatus.RUNNING, CampaignStatus.COMPLETED)
    assert editor_client.get(progress, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    changes = CampaignStatusChange.objects.filter(campaign=setup.campaign).order_by("pk")
    assert [(c.action, c.status) for c in changes][:2] == [
        ("queue", "launching"),
        ("launched", "running"),
    ]


@pytest.mark.django_db
def test_the_api_answers_202_launching_and_a_worker_step_launches(personas, api_for, smtp_sink):
    s = stage(personas.workspace)
    api = api_for("editor")
    made = api.post("/api/campaigns/", s.campaign_body(), format="json").json()
    sent = api.post(f"/api/campaigns/{made['id']}/send/")
    assert sent.status_code == 202
    assert sent.json()["status"] == "launching"
    assert sent.json()["allowed_actions"] == ["cancel"]
    assert not Delivery.objects.exists()
    assert campaigns_launch_queued(now=timezone.now()) == 1
    assert api.get(f"/api/campaigns/{made['id']}/").json()["status"] == "running"
    assert Delivery.objects.filter(campaign_id=made["id"]).count() == 3
    assert campaigns_launch_queued(now=timezone.now()) == 0  # nothing launches twice


@pytest.mark.django_db
def test_a_launch_whose_segment_no_longer_compiles_goes_back_to_draft_with_the_reason(
    personas, editor_client, smtp_sink
):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    segment = SegmentFactory.create(workspace=personas.workspace, name="Gold", definition={})
    setup.campaign.segments.add(segment)
    campaign_queue_launch(campaign=setup.campaign)
    # Its custom field is deleted before a worker gets to the launch.
    segment.definition = {"conditions": [{"field": "field:plan", "op": "equals", "value": "g"}]}
    segment.save(update_fields=["definition"])

    Engine().step()
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.DRAFT
    assert "The launch failed, nothing was sent" in setup.campaign.status_reason
    assert "Unknown field 'field:plan'" in setup.campaign.status_reason
    assert not Delivery.objects.exists()
    assert smtp_sink.messages == []
    change = CampaignStatusChange.objects.filter(campaign=setup.campaign).latest("pk")
    assert (change.action, change.status) == ("launch_failed", "draft")
    page = editor_client.get(
        reverse("campaigns:detail", kwargs={"campaign_id": setup.campaign.pk})
    ).content.decode()
    assert "data-status-reason" in page
    assert "Unknown field" in page
    # Fixed, it starts again.
    segment.definition = {}
    segment.save(update_fields=["definition"])
    campaign_queue_launch(campaign=setup.campaign)
    assert campaigns_launch_queued(now=timezone.now()) == 1
    assert Delivery.objects.filter(campaign=setup.campaign).count() == 3


@pytest.mark.django_db
def test_a_launching_campaign_cancelled_is_never_launched(personas, editor_client, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_queue_launch(campaign=setup.campaign)
    kwargs = {"campaign_id": setup.campaign.pk}
    editor_client.post(reverse("campaigns:cancel", kwargs=kwargs), {"confirmed": "yes"})
    assert _status(setup.campaign) == CampaignStatus.CANCELLED
    assert campaigns_launch_queued(now=timezone.now()) == 0
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_launch_is_launched_again_without_duplicates(
    personas, smtp_sink, tmp_path
):
    """SIGKILL while the worker's INSERT … SELECT is half done; the next step launches it
    whole, once."""
    processes.require_postgresql()
    total = 3000
    setup = make_campaign(personas.workspace, smtp_sink, n=total)
    campaign_queue_launch(campaign=setup.campaign)
    middle = setup.recipients[total // 2]
    # Another transaction holds one delivery's key: the worker's insert waits on it, midway.
    holder = psycopg.connect(**_dsn())
    holder.execute(
        "INSERT INTO campaigns_delivery (workspace_id, campaign_id, recipient_id, email, status,"
        " attempts, next_attempt_at, lease_owner, message_id, last_enhanced_code, last_reply,"
        " updated_at) VALUES (%s, %s, %s, %s, 'queued', 0, now(), '', '', '', '', now())",
        (personas.workspace.pk, setup.campaign.pk, middle.pk, middle.email),
    )
    worker = processes.start(
        ["manage.py", "worker", "--idle", "0.1"],
        processes.worker_env(smtp_sink),
        tmp_path / "worker.log",
    )
    try:
        processes.wait_until(_launch_waiting, 120, "the worker's launch to be under way")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        holder.rollback()
        holder.close()
    assert _status(setup.campaign) == CampaignStatus.LAUNCHING
    # Its backend finishes the statement, then finds its client gone and rolls back.
    processes.wait_until(
        lambda: campaigns_launch_queued(now=timezone.now()) == 1, 60, "the launch again"
    )
    assert _status(setup.campaign) == CampaignStatus.RUNNING
    assert Delivery.objects.filter(campaign=setup.campaign).count() == total
    assert Delivery.objects.values("recipient_id").distinct().count() == total
    assert smtp_sink.messages == []  # the killed worker sent nothing


def _dsn() -> dict[str, Any]:
    s = connection.settings_dict
    return {
        "dbname": s["NAME"],
        "user": s["USER"],
        "password": s["PASSWORD"],
        "host": s["HOST"],
        "port": s["PORT"] or 5432,
        "autocommit": False,
    }


def _launch_waiting() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO \"campaigns_delivery\"%%'"
        )
        return bool(cursor.fetchone()[0])
