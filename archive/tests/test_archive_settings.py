"""Who turns the archive on and marks campaigns for it: the workspace's settings (page and
API, owners only, one workspace at a time) and the campaign's flag and values (editor form
and API, in any state through the API)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Workspace
from campaigns.models import Campaign
from campaigns.services import campaigns_launch_queued
from campaigns.tests.api_setup import stage
from conftest import client_for

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/campaigns/"
SETTINGS = "/api/workspace/"


def signed_in(user) -> Client:
    return client_for(user)


def test_the_campaign_api_reads_and_writes_the_archive_flag_and_values(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    made = api.post(CAMPAIGNS, s.campaign_body(), format="json")
    assert made.status_code == 201, made.content
    assert (made.json()["archived"], made.json()["archive_values"]) == (False, {})
    body = {"archived": True, "archive_values": {"first_name": "Reader"}}
    changed = api.patch(f"{CAMPAIGNS}{made.json()['id']}/", body, format="json")
    assert changed.status_code == 200, changed.content
    got = api.get(f"{CAMPAIGNS}{made.json()['id']}/").json()
    assert (got["archived"], got["archive_values"]) == (True, {"first_name": "Reader"})
    stored = Campaign.objects.get(pk=got["id"])
    assert (stored.archived, stored.archive_values) == (True, {"first_name": "Reader"})


@pytest.mark.parametrize(
    "values",
    [{"no_such_field": "x"}, {"unsubscribe_url": "https://evil.example/"}, ["first_name"]],
)
def test_archive_values_must_name_the_workspaces_placeholders(personas, api_for, values):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = api.post(CAMPAIGNS, s.campaign_body(), format="json").json()["id"]
    refused = api.patch(f"{CAMPAIGNS}{campaign_id}/", {"archive_values": values}, format="json")
    assert refused.status_code == 400
    assert "archive_values" in refused.json()["error"]["fields"]
    assert Campaign.objects.get(pk=campaign_id).archive_values == {}


def test_a_started_campaign_takes_archive_changes_and_nothing_else(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = api.post(CAMPAIGNS, s.campaign_body(), format="json").json()["id"]
    assert api.post(f"{CAMPAIGNS}{campaign_id}/send/").status_code == 202
    campaigns_launch_queued(now=timezone.now())
    published = api.patch(f"{CAMPAIGNS}{campaign_id}/", {"archived": True}, format="json")
    assert published.status_code == 200, published.content
    assert published.json()["archived"] is True
    assert published.json()["status"] == "running"
    mixed = api.patch(
        f"{CAMPAIGNS}{campaign_id}/", {"archived": False, "name": "Renamed"}, format="json"
    )
    assert mixed.status_code == 409
    stored = Campaign.objects.get(pk=campaign_id)
    assert (stored.archived, stored.name) == (True, "Spring")


def test_a_viewer_cannot_mark_a_campaign_for_the_archive(personas, api_for):
    s = stage(personas.workspace)
    campaign_id = api_for("editor").post(CAMPAIGNS, s.campaign_body(), format="json").json()["id"]
    answer = api_for("viewer").patch(
        f"{CAMPAIGNS}{campaign_id}/", {"archived": True}, format="json"
    )
    assert answer.status_code == 403
    assert Campaign.objects.get(pk=campaign_id).archived is False


def test_the_editor_form_marks_a_campaign_with_its_values(personas):
    s = stage(personas.workspace)
    client = signed_in(personas.editor)
    form = {
        "name": "Published",
        "template": s.template.pk,
        "lists": [s.rlist.pk],
        "accounts": [s.account.pk],
        "schedule_mode": "now",
        "lifetime_days": 3,
        "archived": "on",
        "archive_values": '{"first_name": "Reader"}',
    }
    answer = client.post("/campaigns/new/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Published")
    assert (campaign.archived, campaign.archive_values) == (True, {"first_name": "Reader"})
    page = client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'name="archived"' in page
    assert "checked" in page.split('name="archived"')[1].split(">")[0]
    bad = client.post("/campaigns/new/", {**form, "name": "Bad", "archive_values": "{oops"})
    assert bad.status_code == 200
    assert "JSON" in bad.content.decode()
    assert not Campaign.objects.filter(name="Bad").exists()


def test_the_archive_is_off_by_default_and_an_owner_turns_it_on_through_the_api(personas, api_for):
    before = api_for("viewer").get(SETTINGS).json()
    assert (before["archive_enabled"], before["archive_key"]) == (False, None)
    answer = api_for("owner").patch(SETTINGS, {"archive_enabled": True}, format="json")
    assert answer.status_code == 200, answer.content
    key = answer.json()["archive_key"]
    assert key
    assert len(key) >= 16
    assert Workspace.objects.get(pk=personas.workspace.pk).archive_key == key
    assert Client().get(f"/archive/{key}/").status_code == 200
    off = api_for("owner").patch(SETTINGS, {"archive_enabled": False}, format="json")
    assert off.json()["archive_key"] == key  # kept: turning it on again keeps the address
    assert Client().get(f"/archive/{key}/").status_code == 404


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_turn_the_archive_on(personas, api_for, role):
    assert (
        api_for(role).patch(SETTINGS, {"archive_enabled": True}, format="json").status_code == 403
    )
    assert Workspace.objects.get(pk=personas.workspace.pk).archive_enabled is False


def test_the_settings_of_another_workspace_are_not_reached(personas, api_for):
    """Tenancy: the owner's switch changes their workspace only; the other keeps no key."""
    api_for("owner").patch(SETTINGS, {"archive_enabled": True}, format="json")
    other = Workspace.objects.get(pk=personas.other_workspace.pk)
    assert (other.archive_enabled, other.archive_key) == (False, None)
    # A key acts in its own workspace whatever the header names.
    answer = api_for("owner").get(SETTINGS, HTTP_X_WORKSPACE=str(other.pk))
    assert answer.json()["id"] == personas.workspace.pk
    assert answer.json()["archive_key"] != other.archive_key


def test_the_settings_page_turns_the_archive_on_and_makes_a_new_address(personas):
    client = signed_in(personas.owner)
    workspace = personas.workspace
    form = {"name": workspace.name, "time_zone": "UTC", "archive_enabled": "on"}
    assert client.post("/settings/workspace/", form).status_code == 302
    workspace.refresh_from_db()
    old = workspace.archive_key
    assert workspace.archive_enabled
    assert old
    page = client.get("/settings/").content.decode()
    assert f"/archive/{old}/" in page
    asked = client.post("/settings/archive/rotate/")
    assert asked.status_code == 200  # the confirmation page: nothing changed yet
    workspace.refresh_from_db()
    assert workspace.archive_key == old
    assert client.post("/settings/archive/rotate/", {"confirmed": "yes"}).status_code == 302
    workspace.refresh_from_db()
    assert workspace.archive_key
    assert workspace.archive_key != old
    editor = signed_in(personas.editor)
    assert editor.post("/settings/archive/rotate/", {"confirmed": "yes"}).status_code in (
        403,
        404,
    )


def test_the_campaign_page_publishes_a_sent_campaign(personas, api_for):
    s = stage(personas.workspace)
    api = api_for("editor")
    campaign_id = api.post(CAMPAIGNS, s.campaign_body(), format="json").json()["id"]
    assert api.post(f"{CAMPAIGNS}{campaign_id}/send/").status_code == 202
    campaigns_launch_queued(now=timezone.now())
    api_for("owner").patch(SETTINGS, {"archive_enabled": True}, format="json")
    key = Workspace.objects.get(pk=personas.workspace.pk).archive_key
    editor = signed_in(personas.editor)
    page = editor.get(f"/campaigns/{campaign_id}/").content.decode()
    assert "Show in the archive" in page
    done = editor.post(f"/campaigns/{campaign_id}/archive/", {"archived": "on"})
    assert done.status_code == 302
    assert Campaign.objects.get(pk=campaign_id).archived is True
    page = editor.get(f"/campaigns/{campaign_id}/").content.decode()
    assert f"/archive/{key}/{campaign_id}/" in page
    assert Client().get(f"/archive/{key}/{campaign_id}/").status_code == 200
    viewer = signed_in(personas.viewer)
    assert viewer.post(f"/campaigns/{campaign_id}/archive/", {"archived": "off"}).status_code in (
        403,
        404,
    )
    assert Campaign.objects.get(pk=campaign_id).archived is True
    editor.post(f"/campaigns/{campaign_id}/archive/", {"archived": "off"})
    assert Client().get(f"/archive/{key}/{campaign_id}/").status_code == 404


def test_an_owner_makes_a_new_archive_address_through_the_api(personas, api_for):
    old = api_for("owner").patch(SETTINGS, {"archive_enabled": True}, format="json").json()
    assert api_for("editor").post(f"{SETTINGS}archive-key/").status_code == 403
    answer = api_for("owner").post(f"{SETTINGS}archive-key/")
    assert answer.status_code == 200, answer.content
    new = answer.json()["archive_key"]
    assert new
    assert new != old["archive_key"]
    assert Client().get(f"/archive/{old['archive_key']}/").status_code == 404
    assert Client().get(f"/archive/{new}/").status_code == 200
    other = Workspace.objects.get(pk=personas.other_workspace.pk)
    assert other.archive_key is None
