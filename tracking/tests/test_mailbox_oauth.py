"""Bounce mailboxes that sign in with OAuth2 (XOAUTH2), against a real Dovecot that checks
each token at a loopback introspection endpoint, and a real loopback token endpoint.

IMAP and POP3 over TLS fetch mail with a token the server takes; an expired token is
refreshed and the new one stored (encrypted); a token the server refuses is an `auth` error
shown to the user, and nothing is taken from the mailbox. Secrets never come back in pages
or the API; another workspace's mailbox is 404, its consent answer too.
"""

from __future__ import annotations

import logging
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from tracking.feedback.mailbox import Incoming, MailboxError
from tracking.models import BounceMailbox, MailboxMessage
from tracking.services import bounce_mailbox_poll, bounce_mailboxes_poll_due

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).parent / "corpus"
API = "/api/bounce-mailboxes/"
CLIENT_SECRET = "mailbox-client-secret"
SECRETS = (CLIENT_SECRET, "stored-refresh-token", "fresh-access-token", "valid-token")


@pytest.fixture(autouse=True)
def _private_ok(settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # Dovecot and the endpoints are on 127.0.0.1
    settings.SENDING_TIMEOUT = 5


def oauth_fields(dovecot, token_endpoint, *, token, expired):
    """A mailbox's OAuth2 fields: a custom token endpoint (the loopback one) and a stored
    access token, expired or good for an hour."""
    lifetime = timedelta(minutes=-5) if expired else timedelta(hours=1)
    return {
        "auth": "oauth2",
        "username": dovecot.user,
        "password": "",
        "oauth_client_id": "mailbox-client",
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_refresh_token": token_endpoint.refresh_token,
        "oauth_token_endpoint": token_endpoint.url,
        "oauth_access_token": token,
        "oauth_access_token_expires_at": timezone.now() + lifetime,
    }


def make_mailbox(
    dovecot,
    token_endpoint,
    *,
    protocol="imap",
    workspace=None,
    token="valid-token",  # noqa: S107 - a test double's
    expired=False,
    **fields,
):
    pop3 = protocol == "pop3"
    return BounceMailbox.objects.create(
        workspace=workspace or WorkspaceFactory.create(),
        name="OAuth bounces",
        protocol=protocol,
        host=dovecot.host,
        port=dovecot.pop3s_port if pop3 else dovecot.imaps_port,
        security="tls",
        disposal="delete" if pop3 else "move",
        **(oauth_fields(dovecot, token_endpoint, token=token, expired=expired) | fields),
    )


def poll(mailbox, dovecot, seen):
    return bounce_mailbox_poll(
        mailbox=mailbox, handle=seen.append, ssl_context=dovecot.client_ssl_context()
    )


def bounce():
    return (CORPUS / "postfix_user_unknown.eml").read_bytes()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_valid_token_fetches_mail(protocol, dovecot, oauth_introspection, token_endpoint):
    oauth_introspection.grant("valid-token", dovecot.user)
    dovecot.deliver(bounce())
    mailbox = make_mailbox(dovecot, token_endpoint, protocol=protocol)
    seen: list[Incoming] = []

    result = poll(mailbox, dovecot, seen)

    assert len(result.handled) == 1
    assert seen[0].feedback.kind == "hard_bounce"
    assert oauth_introspection.requests  # the server did check the token
    assert token_endpoint.requests == []  # a living token is not refreshed
    assert dovecot.messages("INBOX") == []  # moved (IMAP) or deleted (POP3)
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_an_expired_token_is_refreshed_and_stored_encrypted(
    protocol, dovecot, oauth_introspection, token_endpoint
):
    oauth_introspection.grant(token_endpoint.token, dovecot.user)
    dovecot.deliver(bounce())
    mailbox = make_mailbox(
        dovecot, token_endpoint, protocol=protocol, token="expired-token", expired=True
    )
    seen: list[Incoming] = []

    result = poll(mailbox, dovecot, seen)

    assert len(result.handled) == 1
    [refresh] = token_endpoint.requests
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["refresh_token"] == token_endpoint.refresh_token
    assert (refresh["client_id"], refresh["client_secret"]) == ("mailbox-client", CLIENT_SECRET)
    stored = BounceMailbox.objects.get(pk=mailbox.pk)
    assert stored.oauth_access_token == token_endpoint.token
    expires = stored.oauth_access_token_expires_at
    assert expires is not None
    assert expires > timezone.now() + timedelta(minutes=50)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_access_token, oauth_refresh_token, oauth_client_secret "
            "FROM tracking_bouncemailbox WHERE id = %s",
            [mailbox.pk],
        )
        raw = " ".join(cursor.fetchone())
    assert token_endpoint.token not in raw
    assert token_endpoint.refresh_token not in raw
    assert CLIENT_SECRET not in raw


def test_a_stored_token_revoked_early_is_refreshed_once(
    dovecot, oauth_introspection, token_endpoint
):
    oauth_introspection.grant(token_endpoint.token, dovecot.user)  # not "valid-token"
    dovecot.deliver(bounce())
    mailbox = make_mailbox(dovecot, token_endpoint)
    seen: list[Incoming] = []

    result = poll(mailbox, dovecot, seen)

    assert len(result.handled) == 1
    assert len(token_endpoint.requests) == 1
    assert BounceMailbox.objects.get(pk=mailbox.pk).oauth_access_token == token_endpoint.token


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_refused_token_is_an_auth_error_and_nothing_is_taken(
    protocol, dovecot, oauth_introspection, token_endpoint, caplog
):
    # the server takes neither the stored token nor the fresh one
    dovecot.deliver(bounce())
    mailbox = make_mailbox(dovecot, token_endpoint, protocol=protocol)
    seen: list[Incoming] = []

    with caplog.at_level(logging.WARNING), pytest.raises(MailboxError) as raised:
        poll(mailbox, dovecot, seen)

    assert raised.value.kind == "auth"
    assert "refused the OAuth2 access token" in str(raised.value)
    assert "refused the OAuth2 access token" in caplog.text
    assert seen == []
    assert len(dovecot.messages("INBOX")) == 1
    mailbox.refresh_from_db()
    assert "refused the OAuth2 access token" in mailbox.last_error
    assert mailbox.last_uid == 0
    assert not MailboxMessage.objects.filter(mailbox=mailbox).exists()


def test_a_refused_refresh_is_an_auth_error(dovecot, oauth_introspection, token_endpoint):
    mailbox = make_mailbox(
        dovecot, token_endpoint, oauth_refresh_token="revoked", token="old", expired=True
    )

    with pytest.raises(MailboxError) as raised:
        poll(mailbox, dovecot, [])

    assert raised.value.kind == "auth"
    assert "invalid_grant" in str(raised.value)
    mailbox.refresh_from_db()
    assert "invalid_grant" in mailbox.last_error
    assert mailbox.oauth_access_token == "old"


def test_the_worker_round_records_a_refused_token_and_goes_on(
    dovecot, oauth_introspection, token_endpoint, settings
):
    settings.BOUNCE_MAILBOX_INTERVAL = 60
    dovecot.deliver(bounce())
    mailbox = make_mailbox(dovecot, token_endpoint)

    outcome = bounce_mailboxes_poll_due(ssl_context=dovecot.client_ssl_context())

    assert (outcome.polled, outcome.failed) == (1, 1)
    mailbox.refresh_from_db()
    assert "refused the OAuth2 access token" in mailbox.last_error
    assert len(dovecot.messages("INBOX")) == 1


# ----------------------------------------------------------------- pages and API


def form(dovecot, token_endpoint, **changes):
    data = {
        "name": "OAuth bounces",
        "enabled": "on",
        "protocol": "imap",
        "host": dovecot.host,
        "port": dovecot.imap_port,
        "security": "none",  # the page's test takes the system's CAs: plaintext on loopback
        "username": dovecot.user,
        "auth": "oauth2",
        "oauth_provider": "",
        "oauth_client_id": "mailbox-client",
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_refresh_token": token_endpoint.refresh_token,
        "oauth_token_endpoint": token_endpoint.url,
        "folder": "INBOX",
        "disposal": "move",
        "processed_folder": "Processed",
    }
    data.update(changes)
    return data


def assert_no_secret(text, token_endpoint):
    for secret in (*SECRETS, token_endpoint.refresh_token, token_endpoint.token):
        assert secret not in text


def test_an_owner_sets_up_an_oauth_mailbox_tests_it_and_keeps_its_secrets(
    personas, owner_client, dovecot, oauth_introspection, token_endpoint
):
    oauth_introspection.grant(token_endpoint.token, dovecot.user)
    response = owner_client.post(reverse("tracking:mailbox_create"), form(dovecot, token_endpoint))
    mailbox = BounceMailbox.objects.get(workspace=personas.workspace)
    assert (mailbox.auth, mailbox.password) == ("oauth2", "")
    page = owner_client.get(response.url).content.decode()
    assert "OAuth2" in page
    assert "refresh token •••• (saved)" in page
    assert_no_secret(page, token_endpoint)

    test_url = reverse("tracking:mailbox_test", kwargs={"mailbox_id": mailbox.pk})
    shown = owner_client.post(test_url, follow=True).content.decode()
    assert "Signed in; 0 message(s) waiting in INBOX." in shown
    assert_no_secret(shown, token_endpoint)
    assert len(token_endpoint.requests) == 1  # the first access token

    edit = reverse("tracking:mailbox_edit", kwargs={"mailbox_id": mailbox.pk})
    assert_no_secret(owner_client.get(edit).content.decode(), token_endpoint)
    owner_client.post(
        edit,
        form(
            dovecot, token_endpoint, name="Renamed", oauth_client_secret="", oauth_refresh_token=""
        ),
    )
    mailbox.refresh_from_db()
    assert mailbox.name == "Renamed"
    assert (mailbox.oauth_client_secret, mailbox.oauth_refresh_token) == (
        CLIENT_SECRET,
        token_endpoint.refresh_token,
    )
    assert mailbox.oauth_access_token == token_endpoint.token  # the same grant: kept


def test_a_refused_token_is_shown_on_the_page(
    personas, owner_client, dovecot, oauth_introspection, token_endpoint
):
    mailbox = make_mailbox(dovecot, token_endpoint, workspace=personas.workspace)
    BounceMailbox.objects.filter(pk=mailbox.pk).update(port=dovecot.imap_port, security="none")
    url = reverse("tracking:mailbox_test", kwargs={"mailbox_id": mailbox.pk})
    shown = owner_client.post(url, follow=True).content.decode()
    assert "refused the OAuth2 access token" in shown
    assert_no_secret(shown, token_endpoint)


def test_the_form_asks_for_what_oauth_needs(personas, owner_client, dovecot, token_endpoint):
    response = owner_client.post(
        reverse("tracking:mailbox_create"),
        form(
            dovecot,
            token_endpoint,
            oauth_client_id="",
            oauth_token_endpoint="",
            oauth_refresh_token="",
        ),
    )
    page = response.content.decode()
    assert "Give the OAuth2 client id." in page
    assert "Give the token endpoint of the provider." in page
    assert "Give the OAuth2 refresh token." in page
    assert not BounceMailbox.objects.exists()


def test_a_private_token_endpoint_is_refused(
    personas, owner_client, dovecot, token_endpoint, settings
):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    response = owner_client.post(
        reverse("tracking:mailbox_create"),
        form(dovecot, token_endpoint, host="imap.example.com", security="tls", port=993),
    )
    assert "loopback, private or reserved address" in response.content.decode()
    assert not BounceMailbox.objects.exists()


def test_the_api_writes_oauth_secrets_and_never_returns_them(
    personas, api_for, dovecot, oauth_introspection, token_endpoint
):
    oauth_introspection.grant(token_endpoint.token, dovecot.user)
    owner = api_for("owner")
    given = form(dovecot, token_endpoint)
    given.pop("enabled")
    created = owner.post(API, given, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["auth"] == "oauth2"
    assert body["has_oauth_client_secret"] is True
    assert body["has_oauth_refresh_token"] is True
    assert body["has_password"] is False
    assert "oauth_client_secret" not in body
    assert "oauth_refresh_token" not in body
    assert_no_secret(created.content.decode(), token_endpoint)

    url = f"{API}{body['id']}/"
    tested = owner.post(f"{url}test-connection/")
    assert tested.json()["success"] is True, tested.json()
    assert_no_secret(owner.get(url).content.decode(), token_endpoint)
    assert_no_secret(owner.get(API).content.decode(), token_endpoint)

    changed = owner.patch(url, {"name": "Renamed"}, format="json")
    assert changed.status_code == 200, changed.content
    mailbox = BounceMailbox.objects.get(pk=body["id"])
    assert mailbox.oauth_refresh_token == token_endpoint.refresh_token


# ----------------------------------------------------------------- consent


def consent_mailbox(personas, dovecot, token_endpoint, provider="gmail"):
    return make_mailbox(
        dovecot,
        token_endpoint,
        workspace=personas.workspace,
        oauth_provider=provider,
        oauth_refresh_token="",
        token="",
    )


def start(client, mailbox):
    response = client.post(
        reverse("tracking:mailbox_oauth_start", kwargs={"mailbox_id": mailbox.pk})
    )
    assert response.status_code == 302
    url = urllib.parse.urlsplit(response["Location"])
    return f"{url.scheme}://{url.netloc}{url.path}", dict(urllib.parse.parse_qsl(url.query))


def test_the_owner_connects_a_mailbox_through_the_consent_page(
    personas, owner_client, dovecot, token_endpoint
):
    mailbox = consent_mailbox(personas, dovecot, token_endpoint)
    page = owner_client.get(
        reverse("tracking:mailbox_detail", kwargs={"mailbox_id": mailbox.pk})
    ).content.decode()
    assert "http://testserver/settings/feedback/oauth/callback/" in page

    where, query = start(owner_client, mailbox)
    assert where == "https://accounts.google.com/o/oauth2/v2/auth"
    assert query["scope"] == "https://mail.google.com/"
    assert query["login_hint"] == dovecot.user
    assert query["redirect_uri"] == "http://testserver/settings/feedback/oauth/callback/"
    shown = owner_client.get(
        reverse("tracking:mailbox_oauth_callback"),
        {"state": query["state"], "code": "ok"},
        follow=True,
    ).content.decode()
    assert "Connected. Test the mailbox" in shown
    assert "granted-refresh-token" not in shown
    [exchange] = token_endpoint.requests
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"] == query["redirect_uri"]
    mailbox.refresh_from_db()
    assert mailbox.oauth_refresh_token == "granted-refresh-token"
    assert mailbox.oauth_access_token == token_endpoint.token


def test_outlook_is_asked_for_imap_and_pop3_access(personas, owner_client, dovecot, token_endpoint):
    mailbox = consent_mailbox(personas, dovecot, token_endpoint, provider="outlook")
    where, query = start(owner_client, mailbox)
    assert where == "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in query["scope"]
    assert "https://outlook.office.com/POP.AccessAsUser.All" in query["scope"]
    assert "offline_access" in query["scope"]


def test_a_consent_answer_is_used_once_and_only_for_its_purpose(
    personas, owner_client, dovecot, token_endpoint
):
    mailbox = consent_mailbox(personas, dovecot, token_endpoint)
    _where, query = start(owner_client, mailbox)
    # a mailbox's state is no sending account's
    wrong = owner_client.get(
        reverse("sending:oauth_callback"), {"state": query["state"], "code": "ok"}, follow=True
    )
    assert "expired or not ours" in wrong.content.decode()
    _where, query = start(owner_client, mailbox)
    callback = reverse("tracking:mailbox_oauth_callback")
    owner_client.get(callback, {"state": query["state"], "code": "ok"})
    again = owner_client.get(callback, {"state": query["state"], "code": "ok"}, follow=True)
    assert "expired or not ours" in again.content.decode()
    assert len(token_endpoint.requests) == 1


def test_another_workspaces_mailbox_is_404(personas, owner_client, dovecot, token_endpoint):
    foreign = make_mailbox(dovecot, token_endpoint, oauth_provider="gmail")
    start_url = reverse("tracking:mailbox_oauth_start", kwargs={"mailbox_id": foreign.pk})
    assert owner_client.post(start_url).status_code == 404

    # a well-signed consent answer naming the foreign mailbox still finds nothing here
    mine = consent_mailbox(personas, dovecot, token_endpoint)
    start(owner_client, mine)
    session = owner_client.session
    nonce = session["tracking.mailbox.oauth-nonce"]
    forged = signing.dumps(
        {"target": foreign.pk, "nonce": nonce}, salt="tracking.mailbox.oauth-consent"
    )
    answer = owner_client.get(
        reverse("tracking:mailbox_oauth_callback"), {"state": forged, "code": "ok"}
    )
    assert answer.status_code == 404
    assert token_endpoint.requests == []


def test_only_owners_connect(personas, editor_client, dovecot, token_endpoint):
    mailbox = consent_mailbox(personas, dovecot, token_endpoint)
    url = reverse("tracking:mailbox_oauth_start", kwargs={"mailbox_id": mailbox.pk})
    assert editor_client.post(url).status_code == 403
    assert editor_client.get(reverse("tracking:mailbox_oauth_callback")).status_code == 403


def test_key_rotation_covers_the_mailbox_secrets():
    from core import crypto

    columns = {f"{model._meta.label}.{field.name}" for model, field in crypto.encrypted_fields()}
    assert {
        "tracking.BounceMailbox.password",
        "tracking.BounceMailbox.oauth_client_secret",
        "tracking.BounceMailbox.oauth_refresh_token",
        "tracking.BounceMailbox.oauth_access_token",
    } <= columns


def test_the_admin_shows_no_mailbox_secret(dovecot, token_endpoint):
    from accounts.tests.factories import UserFactory
    from conftest import client_for

    mailbox = make_mailbox(dovecot, token_endpoint, password="admin-must-not-see")
    admin = client_for(UserFactory.create(is_staff=True, is_superuser=True))
    page = admin.get(
        reverse("admin:tracking_bouncemailbox_change", args=[mailbox.pk])
    ).content.decode()
    assert "OAuth bounces" in page
    assert_no_secret(page, token_endpoint)
    assert "admin-must-not-see" not in page
