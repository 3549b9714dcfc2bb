"""The sending pages through HTTP: who may do what, write-only secrets, captured messages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from sending import dns_check
from sending.models import AccountKind, AccountStatus, CapturedMessage, SendingAccount
from sending.services import workspace_initialize
from sending.tests.factories import CapturedMessageFactory, SendingAccountFactory, rendered
from sending.transports.base import OutgoingMessage
from sending.transports.factory import transport_for

pytestmark = pytest.mark.django_db


def smtp_form(**overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Newsletter",
        "from_email": "news@acme.example",
        "from_name": "Acme News",
        "reply_to": "",
        "kind": "smtp",
        "smtp_host": "smtp.acme.example",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "smtp_username": "news@acme.example",
        "smtp_password": "first-password-1",
        "oauth_provider": "",
        "oauth_client_id": "",
        "oauth_client_secret": "",
        "oauth_refresh_token": "",
        "oauth_token_endpoint": "",
        "esp_provider": "",
        "esp_api_key": "",
        "esp_key_id": "",
        "esp_region": "",
        "daily_limit": "30",
        "min_interval_seconds": "1",
    }
    data.update(overrides)
    return data


def test_a_new_workspace_has_an_active_capture_account(personas):
    from accounts.services import workspace_create

    workspace = workspace_create(name="Fresh", owner=personas.owner)
    [account] = SendingAccount.objects.filter(workspace=workspace)
    assert account.kind == AccountKind.CAPTURE
    assert account.status == AccountStatus.ACTIVE


def test_the_list_shows_sent_today_against_the_limit(personas, viewer_client):
    SendingAccountFactory.create(
        workspace=personas.workspace, name="Main", daily_limit=30, sent_today=0
    )
    page = viewer_client.get(reverse("sending:index")).content.decode()
    assert "Main" in page
    assert "0 / 30" in page
    assert "Add account" not in page  # viewers read only


def test_an_owner_adds_an_smtp_account_and_the_password_is_never_shown(personas, owner_client):
    response = owner_client.post(reverse("sending:account_create"), smtp_form())
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    assert response.status_code == 302
    assert account.status == AccountStatus.PENDING
    assert account.smtp_password == "first-password-1"
    for url in (
        reverse("sending:account_detail", kwargs={"account_id": account.pk}),
        reverse("sending:account_edit", kwargs={"account_id": account.pk}),
        reverse("sending:index"),
    ):
        page = owner_client.get(url).content.decode()
        assert "first-password-1" not in page
    assert (
        "•••• (saved)"
        in owner_client.get(
            reverse("sending:account_edit", kwargs={"account_id": account.pk})
        ).content.decode()
    )


def test_an_empty_secret_keeps_the_saved_one_and_a_new_one_replaces_it(personas, owner_client):
    owner_client.post(reverse("sending:account_create"), smtp_form())
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    edit = reverse("sending:account_edit", kwargs={"account_id": account.pk})
    owner_client.post(edit, smtp_form(smtp_password="", daily_limit="50"))
    account.refresh_from_db()
    assert (account.smtp_password, account.daily_limit) == ("first-password-1", 50)
    owner_client.post(edit, smtp_form(smtp_password="second-password-2"))
    account.refresh_from_db()
    assert account.smtp_password == "second-password-2"


def test_a_mailbox_preset_fills_host_port_and_security(personas, owner_client):
    owner_client.post(
        reverse("sending:account_create"),
        smtp_form(kind="gmail", smtp_host="", smtp_port="25", smtp_security="none"),
    )
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    assert (account.smtp_host, account.smtp_port, account.smtp_security) == (
        "smtp.gmail.com",
        587,
        "starttls",
    )


def test_an_esp_account_needs_its_own_credentials(personas, owner_client):
    response = owner_client.post(
        reverse("sending:account_create"),
        smtp_form(kind="esp", esp_provider="amazon_ses", smtp_host=""),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Give the API key" in page
    assert "access key id" in page


@pytest.mark.parametrize("client_name", ["editor_client", "viewer_client"])
def test_only_owners_add_change_and_delete(personas, request, client_name):
    client = request.getfixturevalue(client_name)
    account = SendingAccountFactory.create(workspace=personas.workspace)
    kwargs = {"account_id": account.pk}
    assert client.get(reverse("sending:account_create")).status_code == 403
    assert client.post(reverse("sending:account_create"), smtp_form()).status_code == 403
    assert (
        client.post(reverse("sending:account_edit", kwargs=kwargs), smtp_form()).status_code == 403
    )
    assert client.post(reverse("sending:account_delete", kwargs=kwargs)).status_code == 403
    assert SendingAccount.objects.filter(pk=account.pk).exists()


def test_an_owner_deletes_an_account(personas, owner_client):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    owner_client.post(
        reverse("sending:account_delete", kwargs={"account_id": account.pk}), {"confirmed": "yes"}
    )
    assert not SendingAccount.objects.filter(pk=account.pk).exists()


def test_an_editor_tests_an_account_from_the_page(personas, editor_client, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        status=AccountStatus.PENDING,
    )
    response = editor_client.post(
        reverse("sending:account_test", kwargs={"account_id": account.pk}), follow=True
    )
    assert "SMTP connection successful" in response.content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert smtp_sink.messages == []


def test_a_viewer_cannot_test(personas, viewer_client):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    url = reverse("sending:account_test", kwargs={"account_id": account.pk})
    assert viewer_client.post(url).status_code == 403


def test_captured_messages_are_listed_and_shown_sandboxed(personas, viewer_client):
    workspace_initialize(workspace=personas.workspace)
    capture = SendingAccount.objects.get(workspace=personas.workspace, kind=AccountKind.CAPTURE)
    with transport_for(capture) as transport:
        transport.send(OutgoingMessage.from_rendered(rendered(subject="Spring sale")))
    captured = CapturedMessage.objects.get(workspace=personas.workspace)
    listing = viewer_client.get(reverse("sending:captured_list")).content.decode()
    assert "Spring sale" in listing
    detail = viewer_client.get(
        reverse("sending:captured_detail", kwargs={"captured_id": captured.pk})
    ).content.decode()
    assert "List-Unsubscribe" in detail  # the headers
    assert "Content-Type: multipart/alternative" in detail  # the source
    assert "<iframe" in detail
    assert "sandbox" in detail
    frame = viewer_client.get(reverse("sending:captured_html", kwargs={"captured_id": captured.pk}))
    assert frame["Content-Security-Policy"] == (
        "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox"
    )
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert "<b>there</b>" in frame.content.decode()


def test_another_workspaces_captured_message_is_404(personas, owner_client):
    foreign = CapturedMessageFactory.create(workspace=personas.other_workspace)
    url = reverse("sending:captured_detail", kwargs={"captured_id": foreign.pk})
    assert owner_client.get(url).status_code == 404


def test_an_owner_generates_a_dkim_key_and_sees_the_record(personas, owner_client, monkeypatch):
    response = owner_client.post(
        reverse("sending:dkim_create"), {"domain": "acme.example", "selector": "pr"}, follow=True
    )
    page = response.content.decode()
    assert "pr._domainkey.acme.example" in page
    assert "v=DKIM1; k=rsa; p=MII" in page
    assert "PRIVATE KEY" not in page


def test_the_dns_check_runs_through_the_replaceable_resolver(personas, owner_client, monkeypatch):
    owner_client.post(reverse("sending:dkim_create"), {"domain": "acme.example", "selector": "pr"})
    key = personas.workspace.dkim_keys.get()

    class Resolver:
        def txt(self, name: str) -> list[str]:
            return {"acme.example": ["v=spf1 -all"]}.get(name, [])

    monkeypatch.setattr(dns_check, "default_resolver", Resolver)
    page = owner_client.get(
        reverse("sending:dkim_detail", kwargs={"dkim_key_id": key.pk}) + "?check=1"
    ).content.decode()
    assert "SPF record found" in page
    assert "No DKIM record at pr._domainkey.acme.example" in page
    assert "No DMARC record" in page


def test_editors_cannot_make_dkim_keys(personas, editor_client):
    response = editor_client.post(
        reverse("sending:dkim_create"), {"domain": "acme.example", "selector": "pr"}
    )
    assert response.status_code == 403


def test_the_pages_render_for_every_role(personas):
    from conftest import client_for

    account = SendingAccountFactory.create(workspace=personas.workspace)
    for user in (personas.owner, personas.editor, personas.viewer):
        client = client_for(user)
        for name, kwargs in [
            ("sending:index", {}),
            ("sending:account_detail", {"account_id": account.pk}),
            ("sending:captured_list", {}),
            ("sending:dkim_list", {}),
        ]:
            assert client.get(reverse(name, kwargs=kwargs)).status_code == 200


def test_a_member_of_two_workspaces_sees_only_the_current_ones_accounts(personas):
    from conftest import client_for

    MembershipFactory.create(
        workspace=personas.other_workspace, user=personas.viewer, role=Role.VIEWER
    )
    SendingAccountFactory.create(workspace=personas.other_workspace, name="Elsewhere")
    page = client_for(personas.viewer).get(reverse("sending:index")).content.decode()
    assert "Elsewhere" not in page


def test_an_owner_adds_an_esp_account_with_its_own_key(personas, owner_client):
    owner_client.post(
        reverse("sending:account_create"),
        smtp_form(kind="esp", esp_provider="postmark", esp_api_key="pm-server-token", smtp_host=""),
    )
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    assert (account.kind, account.esp_provider, account.esp_api_key) == (
        "esp",
        "postmark",
        "pm-server-token",
    )
    page = owner_client.get(
        reverse("sending:account_detail", kwargs={"account_id": account.pk})
    ).content.decode()
    assert "pm-server-token" not in page
    assert "•••• (saved)" in page


def test_an_owner_adds_an_oauth2_account_with_the_providers_smtp_settings(personas, owner_client):
    owner_client.post(
        reverse("sending:account_create"),
        smtp_form(
            kind="oauth2",
            oauth_provider="outlook",
            oauth_client_id="client-1",
            oauth_client_secret="client-secret-1",
            oauth_refresh_token="refresh-1",
            smtp_host="",
        ),
    )
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    assert (account.smtp_host, account.smtp_port, account.smtp_security) == (
        "smtp.office365.com",
        587,
        "starttls",
    )
    assert account.oauth_refresh_token == "refresh-1"


def test_changing_the_connection_sends_an_active_account_back_to_pending(personas, owner_client):
    owner_client.post(reverse("sending:account_create"), smtp_form())
    account = SendingAccount.objects.get(workspace=personas.workspace, name="Newsletter")
    account.status = AccountStatus.ACTIVE
    account.save()
    edit = reverse("sending:account_edit", kwargs={"account_id": account.pk})
    owner_client.post(edit, smtp_form(smtp_password="", daily_limit="40"))
    assert SendingAccount.objects.get(pk=account.pk).status == "active"  # limits: still usable
    owner_client.post(edit, smtp_form(smtp_password="", smtp_host="smtp2.acme.example"))
    assert SendingAccount.objects.get(pk=account.pk).status == "pending"


def test_the_list_shows_the_workspace_hour(personas, viewer_client):
    from django.utils import timezone

    from sending import quota

    personas.workspace.hourly_limit = 100
    personas.workspace.save()
    account = SendingAccountFactory.create(workspace=personas.workspace, min_interval_seconds=0)
    quota.reserve(account, timezone.now())
    page = viewer_client.get(reverse("sending:index")).content.decode()
    assert "at most 100 messages in any hour" in page
    assert '<span id="hour-used">1</span>' in page
    assert "1 / 30" in page


def test_the_list_says_when_sending_is_stopped(personas, viewer_client):
    from django.utils import timezone

    personas.workspace.sending_stopped_at = timezone.now()
    personas.workspace.sending_stopped_reason = "complaints"
    personas.workspace.save()
    page = viewer_client.get(reverse("sending:index")).content.decode()
    assert "Sending is stopped for this workspace by the platform's managers: complaints" in page


def test_an_ses_region_must_be_a_region_name(personas, owner_client):
    response = owner_client.post(
        reverse("sending:account_create"),
        smtp_form(
            kind="esp",
            esp_provider="amazon_ses",
            esp_api_key="secret",
            esp_key_id="AKIA1",
            esp_region="169.254.169.254/latest",
            smtp_host="",
        ),
    )
    assert "Give an AWS region name like eu-west-1." in response.content.decode()
    assert not SendingAccount.objects.filter(name="Newsletter").exists()
