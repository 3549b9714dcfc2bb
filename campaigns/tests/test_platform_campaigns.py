"""The platform console's campaigns: every workspace's campaigns for managers (404 to anyone
else), and a manager's disable, which stops a campaign until a manager enables it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.audit.models import AuditEntry
from accounts.selectors import MANAGERS_GROUP
from accounts.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from campaigns import platform
from campaigns.models import Campaign, CampaignStatus, ScheduleMode
from campaigns.services import CampaignDisabled, campaign_pause, campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.tests.factories import CampaignFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

PLANTED = '<script>alert(1)</script><img src=x onerror="alert(2)" data-planted>'


@pytest.fixture
def manager(db):
    call_command("create_groups", verbosity=0)
    user = UserFactory.create(email="manager@platform.test")
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return user


def manager_api(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def running(personas: Any, smtp_sink: Any, n: int = 3) -> Campaign:
    setup = make_campaign(personas.workspace, smtp_sink, n=n)
    Campaign.objects.filter(pk=setup.campaign.pk).update(created_by=personas.owner)
    campaign_start(campaign=setup.campaign)
    return Campaign.objects.get(pk=setup.campaign.pk)


def web_routes(campaign: Campaign) -> list[tuple[str, str]]:
    ids = {"campaign_id": campaign.pk}
    return [
        ("get", reverse("platform_campaigns:index")),
        ("post", reverse("platform_campaigns:index")),
        ("get", reverse("platform_campaigns:disable", kwargs=ids)),
        ("post", reverse("platform_campaigns:disable", kwargs=ids)),
        ("get", reverse("platform_campaigns:enable", kwargs=ids)),
        ("post", reverse("platform_campaigns:enable", kwargs=ids)),
    ]


def api_routes(campaign: Campaign) -> list[tuple[str, str]]:
    base = f"/api/platform/campaigns/{campaign.pk}"
    return [
        ("get", "/api/platform/campaigns/"),
        ("post", "/api/platform/campaigns/"),
        ("post", f"{base}/disable/"),
        ("post", f"{base}/enable/"),
    ]


# --------------------------------------------------------------------------- access


def test_every_route_is_404_to_anyone_but_a_manager(personas, api_for):
    campaign = CampaignFactory.create(workspace=personas.workspace, status=CampaignStatus.PAUSED)
    people = [personas.owner, personas.viewer, personas.outsider]
    for user in people:
        client = client_for(user)
        for method, url in web_routes(campaign):
            response = getattr(client, method)(url, {"reason": "x"})
            assert response.status_code == 404, (user.email, method, url)
        api = manager_api(user)  # the same session, through the API
        for method, url in api_routes(campaign):
            assert getattr(api, method)(url, {"reason": "x"}).status_code == 404, (method, url)
    key = api_for("owner")
    for method, url in api_routes(campaign):
        assert getattr(key, method)(url, {"reason": "x"}).status_code == 404, (method, url)
    campaign.refresh_from_db()
    assert campaign.disabled_at is None
    assert not AuditEntry.objects.filter(action__startswith="campaign.").exists()


def test_signed_out_people_are_sent_to_sign_in(personas):
    campaign = CampaignFactory.create(workspace=personas.workspace)
    from django.test import Client

    for method, url in web_routes(campaign):
        assert getattr(Client(), method)(url).status_code == 302
    assert APIClient().get("/api/platform/campaigns/").status_code == 401


def test_the_console_links_to_the_campaigns(manager):
    page = client_for(manager).get(reverse("platform:index")).content.decode()
    assert reverse("platform_campaigns:index") in page


# --------------------------------------------------------------------------- the list


@pytest.fixture
def spread(personas):
    """Campaigns in two workspaces, by two people, in several states."""
    acme = CampaignFactory.create(
        workspace=personas.workspace, name="Spring sale", created_by=personas.owner,
        status=CampaignStatus.RUNNING, subject="Flowers inside", audience_total=7,
    )  # fmt: skip
    draft = CampaignFactory.create(
        workspace=personas.workspace, name="Autumn draft", created_by=personas.editor
    )
    globex = CampaignFactory.create(
        workspace=personas.other_workspace, name="Globex news", created_by=personas.outsider,
        status=CampaignStatus.COMPLETED, launched_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    return {"acme": acme, "draft": draft, "globex": globex}


def listed(client: Any, **params: Any) -> set[str]:
    response = client.get(reverse("platform_campaigns:index"), params)
    assert response.status_code == 200
    return {c.name for c, _progress in response.context["rows"]}


def test_the_list_shows_every_workspace_with_owner_status_and_counts(manager, spread):
    response = client_for(manager).get(reverse("platform_campaigns:index"))
    page = response.content.decode()
    for text in ("Spring sale", "Globex news", "Acme", "Globex", "owner@acme.test",
                 "outsider@globex.test", "Flowers inside"):  # fmt: skip
        assert text in page
    assert listed(client_for(manager)) == {"Spring sale", "Autumn draft", "Globex news"}
    row = page.split(f'data-campaign="{spread["acme"].pk}"')[1].split("</tr>")[0]
    assert '<td data-count="recipients">7</td>' in row
    assert 'data-status="running"' in row


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "running"}, {"Spring sale"}),
        ({"status": "draft"}, {"Autumn draft"}),
        ({"owner": "outsider@"}, {"Globex news"}),
        ({"owner": "EDITOR@acme"}, {"Autumn draft"}),
        ({"q": "flowers"}, {"Spring sale"}),  # the subject
        ({"q": "news"}, {"Globex news"}),  # the name
        ({"q": "spring", "status": "completed"}, set()),
        ({"status": "nonsense"}, {"Spring sale", "Autumn draft", "Globex news"}),
    ],
)
def test_the_list_filters(manager, spread, params, expected):
    assert listed(client_for(manager), **params) == expected


def test_the_list_filters_by_workspace_and_disabled(manager, personas, spread):
    client = client_for(manager)
    assert listed(client, workspace=personas.other_workspace.pk) == {"Globex news"}
    assert listed(client, workspace="not a number") == {
        "Spring sale",
        "Autumn draft",
        "Globex news",
    }
    platform.campaign_disable(campaign=spread["draft"], by=manager, reason="spam")
    assert listed(client, disabled="1") == {"Autumn draft"}


def test_the_list_is_paginated(manager, personas, django_assert_max_num_queries):
    workspace = WorkspaceFactory.create(name="Many")
    Campaign.objects.bulk_create(
        Campaign(workspace=workspace, name=f"Bulk {i:03}") for i in range(55)
    )
    client = client_for(manager)
    with django_assert_max_num_queries(15):  # not one per campaign
        first = client.get(reverse("platform_campaigns:index"), {"workspace": workspace.pk})
    assert len(first.context["rows"]) == 50
    assert f"?workspace={workspace.pk}&page=2" in first.content.decode()
    second = client.get(reverse("platform_campaigns:index"), {"workspace": workspace.pk, "page": 2})
    assert len(second.context["rows"]) == 5


# --------------------------------------------------------------------------- disable, enable


def test_disable_pauses_a_running_campaign_and_is_audited(manager, personas, smtp_sink):
    campaign = running(personas, smtp_sink)
    response = client_for(manager).post(
        reverse("platform_campaigns:disable", kwargs={"campaign_id": campaign.pk}),
        {"reason": "Reported as spam", "next": "/platform/campaigns/?status=running"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/platform/campaigns/?status=running"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert campaign.disabled_reason == "Reported as spam"
    assert campaign.disabled_by == manager
    entry = AuditEntry.objects.get(action="campaign.disabled")
    assert entry.actor == manager
    assert entry.workspace == personas.workspace
    assert entry.target_id == str(campaign.pk)
    assert entry.detail == {"reason": "Reported as spam"}


def test_disable_needs_a_reason(manager, personas):
    campaign = CampaignFactory.create(workspace=personas.workspace)
    url = reverse("platform_campaigns:disable", kwargs={"campaign_id": campaign.pk})
    response = client_for(manager).post(url, {"reason": "   "}, follow=True)
    assert "Give the reason" in response.content.decode()
    answer = manager_api(manager).post(f"/api/platform/campaigns/{campaign.pk}/disable/", {})
    assert answer.status_code == 400
    campaign.refresh_from_db()
    assert campaign.disabled_at is None
    assert not AuditEntry.objects.filter(action="campaign.disabled").exists()


def test_disable_sends_a_scheduled_campaign_back_to_draft(manager, personas):
    campaign = CampaignFactory.create(
        workspace=personas.workspace, status=CampaignStatus.SCHEDULED,
        schedule_mode=ScheduleMode.AT, scheduled_at=timezone.now(),
    )  # fmt: skip
    platform.campaign_disable(campaign=campaign, by=manager, reason="Hold on")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    page = client_for(personas.owner).get(
        reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    )
    assert page.content.decode().count("Hold on") == 1  # the manager's notice, once


def test_a_finished_campaign_is_not_disabled(manager, personas):
    campaign = CampaignFactory.create(workspace=personas.workspace, status=CampaignStatus.COMPLETED)
    answer = manager_api(manager).post(
        f"/api/platform/campaigns/{campaign.pk}/disable/", {"reason": "late"}
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["current_status"] == "completed"


def test_the_owner_cannot_resume_a_disabled_campaign_in_the_ui(manager, personas, smtp_sink):
    campaign = running(personas, smtp_sink)
    platform.campaign_disable(campaign=campaign, by=manager, reason="Reported as spam")
    owner = client_for(personas.owner)
    detail = reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    page = owner.get(detail).content.decode()
    assert 'id="campaign-disabled"' in page
    assert "Reported as spam" in page
    assert 'data-action="resume"' not in page
    assert 'data-action="cancel"' in page  # stopping it for good stays the owner's choice
    response = owner.post(
        reverse("campaigns:resume", kwargs={"campaign_id": campaign.pk}), follow=True
    )
    text = response.content.decode()
    assert "A platform manager has disabled this campaign" in text
    assert "Campaign resumed." not in text
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED


def test_the_owner_cannot_start_or_schedule_a_disabled_draft(manager, personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    platform.campaign_disable(campaign=setup.campaign, by=manager, reason="Check the list")
    owner = client_for(personas.owner)
    detail = reverse("campaigns:detail", kwargs={"campaign_id": setup.campaign.pk})
    assert 'data-action="start"' not in owner.get(detail).content.decode()
    response = owner.post(
        reverse("campaigns:start", kwargs={"campaign_id": setup.campaign.pk}), follow=True
    )
    assert "A platform manager has disabled this campaign" in response.content.decode()
    with pytest.raises(CampaignDisabled):
        campaign_start(campaign=setup.campaign)
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.DRAFT
    assert not setup.campaign.deliveries.exists()


def test_the_owner_api_gets_409_while_disabled(manager, personas, smtp_sink, api_for):
    paused = running(personas, smtp_sink)
    draft = CampaignFactory.create(workspace=personas.workspace, name="Draft")
    for campaign in (paused, draft):
        platform.campaign_disable(campaign=campaign, by=manager, reason="Spam <b>complaints</b>")
    api = api_for("owner")
    body = api.get(f"/api/campaigns/{paused.pk}/").json()
    assert body["disabled_reason"] == "Spam <b>complaints</b>"
    assert body["disabled_at"]
    assert "resume" not in body["allowed_actions"]
    assert "cancel" in body["allowed_actions"]
    assert api.post(f"/api/campaigns/{paused.pk}/resume/").status_code == 409
    refused = api.post(f"/api/campaigns/{draft.pk}/send/")
    assert refused.status_code == 409, refused.content
    assert "disabled" in str(refused.json())
    later = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = api.post(f"/api/campaigns/{draft.pk}/schedule/", {"send_at": later}, format="json")
    assert scheduled.status_code in (400, 409), scheduled.content
    assert api.get(f"/api/campaigns/{draft.pk}/").json()["allowed_actions"] == ["cancel"]
    paused.refresh_from_db()
    draft.refresh_from_db()
    assert (paused.status, draft.status) == (CampaignStatus.PAUSED, CampaignStatus.DRAFT)


def test_enable_lets_the_owner_resume_again(manager, personas, smtp_sink, api_for):
    campaign = running(personas, smtp_sink)
    api = manager_api(manager)
    disabled = api.post(f"/api/platform/campaigns/{campaign.pk}/disable/", {"reason": "Why"})
    assert disabled.status_code == 200, disabled.content
    assert disabled.json()["disabled_reason"] == "Why"
    assert disabled.json()["status"] == "paused"
    assert (
        api.post(f"/api/platform/campaigns/{campaign.pk}/disable/", {"reason": "x"}).status_code
        == 409
    )

    enabled = client_for(manager).post(
        reverse("platform_campaigns:enable", kwargs={"campaign_id": campaign.pk})
    )
    assert enabled.status_code == 302
    campaign.refresh_from_db()
    assert campaign.disabled_at is None
    assert campaign.status == CampaignStatus.PAUSED  # the owner decides to resume
    entry = AuditEntry.objects.get(action="campaign.enabled")
    assert (entry.actor, entry.workspace) == (manager, personas.workspace)
    assert api.post(f"/api/platform/campaigns/{campaign.pk}/enable/").status_code == 409

    assert api_for("owner").post(f"/api/campaigns/{campaign.pk}/resume/").status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING


def test_the_manager_api_lists_every_workspace(manager, spread):
    body = manager_api(manager).get("/api/platform/campaigns/", {"status": "completed"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["name"] == "Globex news"
    assert row["workspace_name"] == "Globex"
    assert row["owner_email"] == "outsider@globex.test"
    assert row["sent"] == 0


def test_a_manager_still_changes_nothing_else(manager, personas, smtp_sink):
    campaign = running(personas, smtp_sink)
    draft = CampaignFactory.create(workspace=personas.workspace, name="Untouched")
    client = client_for(manager)
    client.post(
        reverse("accounts:workspace_switch", kwargs={"workspace_id": personas.workspace.pk})
    )
    for name in ("pause", "cancel"):
        client.post(reverse(f"campaigns:{name}", kwargs={"campaign_id": campaign.pk}))
    for name in ("start", "delete", "archive"):
        client.post(reverse(f"campaigns:{name}", kwargs={"campaign_id": draft.pk}))
    client.post(reverse("campaigns:edit", kwargs={"campaign_id": draft.pk}), {"name": "Changed"})
    api = manager_api(manager)
    api.credentials(HTTP_X_WORKSPACE=str(personas.workspace.pk))
    answer = api.patch(f"/api/campaigns/{draft.pk}/", {"name": "Changed"}, format="json")
    assert answer.status_code in (403, 404)
    assert api.post(f"/api/campaigns/{campaign.pk}/pause/").status_code in (403, 404)
    campaign.refresh_from_db()
    draft.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    assert (draft.name, draft.status, draft.archived) == ("Untouched", CampaignStatus.DRAFT, False)


def test_planted_markup_in_the_reason_and_name_stays_text(manager, personas):
    campaign = CampaignFactory.create(
        workspace=personas.workspace, name=f"Sale {PLANTED}", created_by=personas.owner
    )
    platform.campaign_disable(campaign=campaign, by=manager, reason=f"Spam {PLANTED}")
    pages = [
        client_for(manager).get(reverse("platform_campaigns:index")),
        client_for(personas.owner).get(
            reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
        ),
    ]
    for response in pages:
        page = response.content.decode()
        assert "<script>alert(1)" not in page
        assert "data-planted>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_platform_campaigns_page_speaks_russian(manager, spread):
    response = client_for(manager).get(
        reverse("platform_campaigns:index"), headers={"accept-language": "ru"}
    )
    page = response.content.decode()
    for english in ("Campaigns of every workspace", "Disable", "Owner's e-mail", "Disabled only"):
        assert english not in page


def test_a_member_of_no_matter_which_workspace_sees_nothing(personas):
    # Someone who is a member of both workspaces is still no manager.
    both = MembershipFactory.create(workspace=personas.other_workspace, user=personas.owner).user
    assert client_for(both).get(reverse("platform_campaigns:index")).status_code == 404


def test_pause_by_the_owner_keeps_working_on_enabled_campaigns(personas, smtp_sink):
    campaign = running(personas, smtp_sink)
    campaign_pause(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
