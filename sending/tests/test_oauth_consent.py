"""Getting a refresh token: the provider's consent page and the code traded for tokens."""

from __future__ import annotations

import urllib.parse

import pytest
from django.urls import reverse

from sending.models import AccountKind, AccountStatus, OAuthProvider
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(personas, token_endpoint):
    return SendingAccountFactory.create(
        workspace=personas.workspace,
        kind=AccountKind.OAUTH2,
        oauth_provider=OAuthProvider.GMAIL,
        oauth_client_id="client-1",
        oauth_client_secret="client-secret-1",
        oauth_token_endpoint=token_endpoint.url,
        from_email="owner@acme.example",
        status=AccountStatus.PENDING,
    )


def start(client, account) -> dict[str, str]:
    response = client.post(
        reverse("sending:account_oauth_start", kwargs={"account_id": account.pk})
    )
    assert response.status_code == 302
    url = urllib.parse.urlsplit(response["Location"])
    assert (
        f"{url.scheme}://{url.netloc}{url.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    )
    return dict(urllib.parse.parse_qsl(url.query))


def test_the_owner_is_sent_to_the_consent_page_and_back_with_a_refresh_token(
    owner_client, account, token_endpoint
):
    query = start(owner_client, account)
    assert query["client_id"] == "client-1"
    assert query["scope"] == "https://mail.google.com/"
    assert query["redirect_uri"] == "http://testserver/sending-accounts/oauth/callback/"
    assert query["access_type"] == "offline"
    response = owner_client.get(
        reverse("sending:oauth_callback"), {"state": query["state"], "code": "ok"}, follow=True
    )
    assert "Connected. Test the account" in response.content.decode()
    [request] = token_endpoint.requests
    assert request["grant_type"] == "authorization_code"
    assert request["redirect_uri"] == query["redirect_uri"]
    account.refresh_from_db()
    assert account.oauth_refresh_token == "granted-refresh-token"
    assert account.oauth_access_token == token_endpoint.token
    assert account.status == AccountStatus.PENDING


def test_a_state_that_is_not_ours_is_refused(owner_client, account, token_endpoint):
    start(owner_client, account)
    response = owner_client.get(
        reverse("sending:oauth_callback"), {"state": "forged", "code": "ok"}, follow=True
    )
    assert "expired or not ours" in response.content.decode()
    assert token_endpoint.requests == []


def test_a_state_is_used_once(owner_client, account, token_endpoint):
    query = start(owner_client, account)
    callback = reverse("sending:oauth_callback")
    owner_client.get(callback, {"state": query["state"], "code": "ok"})
    again = owner_client.get(callback, {"state": query["state"], "code": "ok"}, follow=True)
    assert "expired or not ours" in again.content.decode()
    assert len(token_endpoint.requests) == 1


def test_a_refusal_by_the_provider_is_shown(owner_client, account, token_endpoint):
    query = start(owner_client, account)
    response = owner_client.get(
        reverse("sending:oauth_callback"),
        {"state": query["state"], "error": "access_denied"},
        follow=True,
    )
    assert "did not grant access: access_denied" in response.content.decode()
    account.refresh_from_db()
    assert account.oauth_refresh_token == ""


def test_a_refused_code_is_shown(owner_client, account, token_endpoint):
    query = start(owner_client, account)
    response = owner_client.get(
        reverse("sending:oauth_callback"), {"state": query["state"], "code": "bad"}, follow=True
    )
    assert "invalid_grant" in response.content.decode()


def test_only_owners_connect(editor_client, account):
    url = reverse("sending:account_oauth_start", kwargs={"account_id": account.pk})
    assert editor_client.post(url).status_code == 403
    assert editor_client.get(reverse("sending:oauth_callback")).status_code == 403
