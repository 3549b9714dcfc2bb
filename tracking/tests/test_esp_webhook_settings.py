"""The events webhook's URL on the account page and in the API: owners see it and make a new
one; others do not; the secret and the signing key are stored encrypted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from sending.models import AccountKind, EspProvider, SendingAccount
from tracking.esp import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(personas) -> SendingAccount:
    return SendingAccount.objects.create(
        workspace=personas.workspace,
        name="Mailgun",
        from_email="news@example.com",
        kind=AccountKind.ESP,
        esp_provider=EspProvider.MAILGUN,
        esp_api_key="api-key",
    )


def panel(account: SendingAccount) -> str:
    return reverse("tracking:esp_webhook_panel", kwargs={"account_id": account.pk})


def rotate(account: SendingAccount) -> str:
    return reverse("tracking:esp_webhook_rotate", kwargs={"account_id": account.pk})


def test_the_account_page_loads_the_panel_with_our_htmx_key(owner_client, account):
    page = owner_client.get(reverse("sending:account_detail", kwargs={"account_id": account.pk}))
    body = page.content.decode()
    assert panel(account) in body
    key = page.context["htmx_key"]
    assert f'data-postroom-htmx="{key}" hx-get="{panel(account)}"' in body


def test_an_owner_makes_the_url_sees_it_and_makes_a_new_one(owner_client, account):
    assert "No webhook address yet" in owner_client.get(panel(account)).content.decode()
    made = owner_client.post(rotate(account)).content.decode()
    account.refresh_from_db()
    first = account.esp_webhook_token
    assert len(first) >= 40
    assert f"http://testserver/hooks/esp/mailgun/{account.pk}/{first}/" in made
    again = owner_client.post(rotate(account)).content.decode()
    account.refresh_from_db()
    assert account.esp_webhook_token != first
    assert first not in again
    assert account.esp_webhook_token in again


@pytest.mark.parametrize("who", ["editor_client", "viewer_client"])
def test_others_neither_see_nor_rotate_the_secret(request, who, account):
    token = services.webhook_token_rotate(account=account)
    client = request.getfixturevalue(who)
    shown = client.get(panel(account))
    assert shown.status_code == 200
    assert token not in shown.content.decode()
    assert client.post(rotate(account)).status_code == 403
    account.refresh_from_db()
    assert account.esp_webhook_token == token


def test_another_workspaces_account_and_smtp_accounts_answer_404(
    outsider_client, owner_client, account, personas
):
    assert outsider_client.get(panel(account)).status_code == 404
    assert outsider_client.post(rotate(account)).status_code == 404
    smtp = SendingAccount.objects.create(
        workspace=personas.workspace, name="SMTP", from_email="a@example.com", kind="smtp"
    )
    assert owner_client.get(panel(smtp)).status_code == 404


def test_the_secret_and_the_signing_key_are_stored_encrypted(owner_client, account):
    owner_client.post(
        reverse("tracking:esp_webhook_key", kwargs={"account_id": account.pk}),
        {"key": "key-mailgun-signing-secret"},
    )
    token = services.webhook_token_rotate(account=account)
    account.refresh_from_db()
    assert account.esp_webhook_key == "key-mailgun-signing-secret"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT esp_webhook_token, esp_webhook_key FROM sending_sendingaccount WHERE id = %s",
            [account.pk],
        )
        stored = cursor.fetchone()
    assert token not in stored[0]
    assert "key-mailgun-signing-secret" not in stored[1]
    shown = owner_client.get(panel(account)).content.decode()
    assert "key-mailgun-signing-secret" not in shown
    assert "saved" in shown


def test_the_api_detail_gives_owners_the_url(api_for, account):
    token = services.webhook_token_rotate(account=account)
    url = f"/api/email-accounts/{account.pk}/"
    mine = api_for("owner").get(url).json()
    assert mine["events_webhook_url"] == (
        f"http://testserver/hooks/esp/mailgun/{account.pk}/{token}/"
    )
    theirs = api_for("viewer").get(url).json()
    assert theirs["events_webhook_url"] is None
    listed = api_for("owner").get("/api/email-accounts/").json()
    assert all("events_webhook_url" not in row for row in listed["results"])
