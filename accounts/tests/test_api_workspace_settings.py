"""/api/workspace/: the settings of the workspace a call acts in, as on the settings page:
read by every member, changed by owners only, validated field by field, audited by name."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.audit.models import AuditEntry
from accounts.models import ReaderIps, Workspace
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/workspace/"


def _signed_in(user) -> APIClient:
    client = APIClient()
    access = client.post("/api/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert access.status_code == 200, access.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access.json()['access']}")
    return client


def test_every_member_reads_the_settings_of_the_workspace_it_acts_in(personas, api_for):
    workspace = personas.workspace
    workspace.track_clicks = True
    workspace.hourly_limit = 900
    workspace.save()
    answer = api_for("viewer").get(URL)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "id": workspace.pk,
        "name": workspace.name,
        "time_zone": "UTC",
        "hourly_limit": 900,
        "track_opens": False,
        "track_clicks": True,
        "reader_ips": ReaderIps.TRUNCATED,
        "signup_color": "#2563eb",
        "require_two_factor": False,
        "archive_enabled": False,
        "archive_key": None,
    }


def test_an_owner_turns_tracking_on_and_nothing_else_moves(personas, api_for):
    before = Workspace.objects.get(pk=personas.workspace.pk)
    answer = api_for("owner").patch(
        URL, {"track_opens": True, "track_clicks": True, "reader_ips": "none"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    after = Workspace.objects.get(pk=personas.workspace.pk)
    assert (after.track_opens, after.track_clicks, after.reader_ips) == (True, True, "none")
    assert (after.name, after.time_zone, after.hourly_limit, after.signup_color) == (
        before.name,
        before.time_zone,
        before.hourly_limit,
        before.signup_color,
    )
    assert after.room_changed_at is None  # no limit was lifted
    [entry] = AuditEntry.objects.filter(action="workspace.changed")
    assert entry.workspace_id == after.pk
    assert entry.detail["fields"] == ["reader_ips", "track_clicks", "track_opens"]


def test_lifting_the_hourly_limit_through_the_api_lets_waiting_deliveries_go(personas, api_for):
    personas.workspace.hourly_limit = 10
    personas.workspace.save()
    answer = api_for("owner").patch(URL, {"hourly_limit": None}, format="json")
    assert answer.status_code == 200, answer.content
    after = Workspace.objects.get(pk=personas.workspace.pk)
    assert after.hourly_limit is None
    assert after.room_changed_at is not None  # the engine re-plans what waited for room


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_change_the_settings(personas, api_for, role):
    answer = api_for(role).patch(URL, {"track_opens": True}, format="json")
    assert answer.status_code == 403
    assert Workspace.objects.get(pk=personas.workspace.pk).track_opens is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus_Mons"),
        ("hourly_limit", 0),
        ("signup_color", "red"),
        ("reader_ips", "everything"),
        ("name", "   "),
    ],
)
def test_a_bad_value_is_named_and_nothing_is_saved(personas, api_for, field, value):
    answer = api_for("owner").patch(URL, {field: value, "track_opens": True}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]
    assert Workspace.objects.get(pk=personas.workspace.pk).track_opens is False
    assert not AuditEntry.objects.filter(action="workspace.changed").exists()


def test_two_factor_is_required_only_by_an_owner_who_has_it(personas):
    answer = _signed_in(personas.owner).patch(URL, {"require_two_factor": True}, format="json")
    assert answer.status_code == 400
    [error] = answer.json()["error"]["fields"]["require_two_factor"]
    assert "two-factor sign-in for yourself" in error["message"]
    assert Workspace.objects.get(pk=personas.workspace.pk).require_two_factor is False


def test_another_workspace_is_not_found(personas):
    """Tenancy: naming a workspace the caller is no member of answers 404, read or write."""
    api = _signed_in(personas.owner)
    other = personas.other_workspace.pk
    assert api.get(URL, HTTP_X_WORKSPACE=str(other)).status_code == 404
    assert (
        api.patch(
            URL, {"track_opens": True}, format="json", HTTP_X_WORKSPACE=str(other)
        ).status_code
        == 404
    )
    assert Workspace.objects.get(pk=other).track_opens is False
