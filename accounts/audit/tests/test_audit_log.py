"""The audit log: each action that matters leaves one entry naming who, when, from where and
what, owners read their workspace's (page, CSV, API) and nobody else's, and old entries go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import AuditEntry
from accounts.audit.services import purge, record
from accounts.keys.services import api_key_create
from accounts.models import Membership, Role
from campaigns.models import CampaignStatus
from campaigns.tests.conftest import make_campaign
from conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-1"


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_a_sign_in_and_a_failed_one_are_recorded_with_the_address_and_no_password(personas):
    personas.owner.set_password(PASSWORD)
    personas.owner.save()
    client = Client(REMOTE_ADDR="203.0.113.7")
    login = reverse("accounts:login")
    client.post(login, {"username": personas.owner.email, "password": "wrong-" + PASSWORD})
    client.post(login, {"username": personas.owner.email, "password": PASSWORD})
    [failed] = entries("user.sign_in_failed")
    assert failed.actor_email == personas.owner.email
    assert failed.ip == "203.0.113.7"
    assert PASSWORD not in str(failed.detail)
    [signed_in] = entries("user.signed_in")
    assert (signed_in.actor, signed_in.via, signed_in.ip) == (personas.owner, "web", "203.0.113.7")


def test_a_password_change_is_recorded_however_it_is_made(personas):
    client = client_for(personas.owner)
    personas.owner.set_password(PASSWORD)
    personas.owner.save()
    client.force_login(personas.owner)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": PASSWORD + "x",
            "new_password2": PASSWORD + "x",
        },
    )
    assert response.status_code == 302
    changed = entries("user.password_changed")
    assert [e.actor for e in changed][-1] == personas.owner
    personas.editor.save()  # a save without a new password records nothing
    assert len(entries("user.password_changed")) == len(changed)


def test_members_and_keys_changed_in_the_ui_are_recorded_in_their_workspace(personas):
    client = client_for(personas.owner)
    client.post(reverse("api_keys"), {"name": "CRM sync", "role": Role.EDITOR})
    [created] = entries("api_key.created")
    assert (created.workspace, created.actor) == (personas.workspace, personas.owner)
    assert created.target_label.startswith("CRM sync")
    editor = Membership.objects.get(workspace=personas.workspace, user=personas.editor)
    client.post(reverse("accounts:member_role", args=[editor.pk]), {"role": Role.VIEWER})
    [changed] = entries("member.role_changed")
    assert changed.detail == {"previous": Role.EDITOR, "role": Role.VIEWER}
    assert changed.target_label == str(personas.editor)


def test_a_campaign_started_by_a_person_is_recorded_and_the_engine_s_own_changes_are_not(
    personas, smtp_sink
):
    from campaigns.services import campaign_start

    setup = make_campaign(personas.workspace, smtp_sink)
    campaign_start(campaign=setup.campaign)  # no request: the system (a schedule) started it
    assert entries("campaign.status_changed") == []
    client = client_for(personas.owner)
    client.post(reverse("campaigns:pause", args=[setup.campaign.pk]))
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.PAUSED
    [paused] = entries("campaign.status_changed")
    assert (paused.actor, paused.via, paused.target_label) == (personas.owner, "web", "Spring")
    assert paused.detail["status"] == CampaignStatus.PAUSED


def test_a_sending_account_s_changes_name_fields_never_secret_values(personas):
    from sending.services import account_create, account_update

    account = account_create(
        workspace=personas.workspace,
        data={"name": "Main", "kind": "capture", "from_email": "news@acme.test"},
    )
    account_update(account=account, data={"smtp_password": "s3cret-value", "name": "Main 2"})
    [changed] = entries("account.changed")
    assert changed.detail == {"fields": ["name", "smtp_password"]}
    assert "s3cret-value" not in str(AuditEntry.objects.values_list("detail", "target_label"))


def test_owners_read_their_workspace_s_log_and_no_other_s(personas):
    record("api_key.created", workspace=personas.workspace, target_label="ours")
    record("api_key.created", workspace=personas.other_workspace, target_label="theirs")
    page = client_for(personas.owner).get(reverse("audit_log"))
    assert page.status_code == 200
    assert b"ours" in page.content
    assert b"theirs" not in page.content
    assert client_for(personas.editor).get(reverse("audit_log")).status_code in (403, 404)


def test_the_csv_download_has_every_entry_and_neutralises_formulas(personas):
    record("member.invited", workspace=personas.workspace, target_label="=HYPERLINK(1)")
    response = client_for(personas.owner).get(reverse("audit_log"), {"format": "csv"})
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.startswith("\ufeff")  # spreadsheets read Cyrillic names as UTF-8 only so
    lines = body.removeprefix("\ufeff").splitlines()
    assert lines[0].startswith("time,actor,via,ip,action,target")
    assert len(lines) == 2
    assert "'=HYPERLINK(1)" in lines[1]


def test_the_api_serves_owners_and_their_keys_and_refuses_editors(personas):
    record("api_key.created", workspace=personas.workspace, target_label="ours")
    record("api_key.created", workspace=personas.other_workspace, target_label="theirs")
    owner_key = api_key_create(
        workspace=personas.workspace, name="Audit", role=Role.OWNER, created_by=personas.owner
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_key.raw}")
    body = api.get("/api/audit-log/").json()
    labels = [e["target_label"] for e in body["results"]]
    assert "ours" in labels
    assert "theirs" not in labels
    assert any(e["action"] == "api_key.created" and e["via"] == "system" for e in body["results"])
    editor_key = api_key_create(
        workspace=personas.workspace, name="Ed", role=Role.EDITOR, created_by=personas.owner
    )
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {editor_key.raw}").get("/api/audit-log/")
    assert refused.status_code == 403


def test_entries_older_than_the_setting_are_purged(personas, settings):
    settings.AUDIT_LOG_DAYS = 30
    old = record("api_key.created", workspace=personas.workspace)
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    kept = record("api_key.revoked", workspace=personas.workspace)
    assert purge(now=timezone.now()) == 1
    assert list(
        AuditEntry.objects.filter(action__startswith="api_key.").values_list("pk", flat=True)
    ) == [kept.pk]


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown audit action"):
        record("campaign.exploded")
