"""The Feedback pages and /api/bounce-mailboxes/: owners set mailboxes up and test them
against a real Dovecot, viewers read, the password never comes back."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from tracking.models import BounceMailbox

pytestmark = pytest.mark.django_db
API = "/api/bounce-mailboxes/"


@pytest.fixture
def private_ok(settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # Dovecot listens on 127.0.0.1


def form(dovecot, **changes):
    data = {
        "name": "Bounces",
        "enabled": "on",
        "protocol": "imap",
        "host": dovecot.host,
        "port": dovecot.imap_port,
        "security": "none",
        "username": dovecot.user,
        "auth": "password",
        "password": dovecot.password,
        "folder": "INBOX",
        "disposal": "move",
        "processed_folder": "Processed",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_owner_adds_tests_and_edits_a_mailbox_keeping_the_password(
    personas, owner_client, dovecot, private_ok
):
    response = owner_client.post(reverse("tracking:mailbox_create"), form(dovecot))
    mailbox = BounceMailbox.objects.get(workspace=personas.workspace)
    assert response.url == reverse("tracking:mailbox_detail", kwargs={"mailbox_id": mailbox.pk})
    page = owner_client.get(response.url).content.decode()
    assert dovecot.password not in page
    assert "(saved)" in page

    test_url = reverse("tracking:mailbox_test", kwargs={"mailbox_id": mailbox.pk})
    shown = owner_client.post(test_url, follow=True).content.decode()
    assert "Signed in; 0 message(s) waiting in INBOX." in shown

    edit = reverse("tracking:mailbox_edit", kwargs={"mailbox_id": mailbox.pk})
    assert dovecot.password not in owner_client.get(edit).content.decode()
    owner_client.post(edit, form(dovecot, name="Renamed", password=""))
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.password) == ("Renamed", dovecot.password)


def test_a_wrong_password_and_an_unreachable_host_are_told_apart(
    personas, owner_client, dovecot, private_ok
):
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace,
        name="B",
        host=dovecot.host,
        port=dovecot.imap_port,
        security="none",
        username=dovecot.user,
        password="wrong",
    )
    url = reverse("tracking:mailbox_test", kwargs={"mailbox_id": mailbox.pk})
    shown = owner_client.post(url, follow=True).content.decode()
    assert "refused the user name or password" in shown

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    BounceMailbox.objects.filter(pk=mailbox.pk).update(port=closed, password=dovecot.password)
    shown = owner_client.post(url, follow=True).content.decode()
    assert "Connection refused: nothing accepts connections on that host and port" in shown


def test_a_missing_folder_is_named(personas, owner_client, dovecot, private_ok):
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace,
        name="B",
        host=dovecot.host,
        port=dovecot.imap_port,
        security="none",
        username=dovecot.user,
        password=dovecot.password,
        folder="Nowhere",
    )
    url = reverse("tracking:mailbox_test", kwargs={"mailbox_id": mailbox.pk})
    assert "“Nowhere” does not exist" in owner_client.post(url, follow=True).content.decode()


def test_pop3_is_tested_too(personas, owner_client, dovecot, private_ok):
    dovecot.deliver(b"Subject: x\r\n\r\nbody\r\n")
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace,
        name="P",
        protocol="pop3",
        host=dovecot.host,
        port=dovecot.pop3_port,
        security="none",
        username=dovecot.user,
        password=dovecot.password,
        disposal="delete",
    )
    url = reverse("tracking:mailbox_test", kwargs={"mailbox_id": mailbox.pk})
    assert (
        "Signed in; 1 message(s) waiting in POP3."
        in owner_client.post(url, follow=True).content.decode()
    )
    assert len(dovecot.messages()) == 1  # a test takes nothing


def test_delete_asks_first(personas, owner_client):
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace,
        name="B",
        host="imap.example.test",
        username="u",
        password="p",
    )
    url = reverse("tracking:mailbox_delete", kwargs={"mailbox_id": mailbox.pk})
    asked = owner_client.post(url)
    assert asked.status_code == 200
    assert "Delete the mailbox" in asked.content.decode()
    assert BounceMailbox.objects.filter(pk=mailbox.pk).exists()
    owner_client.post(url, {"confirmed": "yes"})
    assert not BounceMailbox.objects.filter(pk=mailbox.pk).exists()


def test_viewers_read_and_editors_cannot_change(personas, viewer_client, editor_client):
    mailbox = BounceMailbox.objects.create(
        workspace=personas.workspace,
        name="B",
        host="imap.example.test",
        username="u",
        password="secret-pw",
        last_error="The server refused the user name or password (x).",
    )
    detail = reverse("tracking:mailbox_detail", kwargs={"mailbox_id": mailbox.pk})
    page = viewer_client.get(detail).content.decode()
    assert "refused the user name" in page
    assert "secret-pw" not in page
    assert 'data-action="delete"' not in page
    assert (
        "imap.example.test" in viewer_client.get(reverse("tracking:mailbox_index")).content.decode()
    )
    for name in ("mailbox_edit", "mailbox_delete", "mailbox_test"):
        url = reverse(f"tracking:{name}", kwargs={"mailbox_id": mailbox.pk})
        assert editor_client.post(url, {"confirmed": "yes"}).status_code == 403
    assert editor_client.get(reverse("tracking:mailbox_create")).status_code == 403
    assert BounceMailbox.objects.get(pk=mailbox.pk).name == "B"


def test_a_private_host_is_refused_where_private_hosts_are_not_allowed(
    personas, owner_client, dovecot, settings
):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    response = owner_client.post(
        reverse("tracking:mailbox_create"), form(dovecot, host="127.0.0.1")
    )
    assert response.status_code == 200
    assert not BounceMailbox.objects.exists()
    assert "never sent in the clear" in response.content.decode()


def test_the_api_creates_tests_and_never_returns_the_password(
    personas, api_for, dovecot, private_ok
):
    owner = api_for("owner")
    body = {k: v for k, v in form(dovecot).items() if k != "enabled"} | {"enabled": True}
    created = owner.post(API, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["has_password"] is True
    assert "password" not in data
    url = f"{API}{data['id']}/"

    tested = owner.post(f"{url}test-connection/").json()
    assert tested["success"] is True

    owner.patch(url, {"password": "wrong"}, format="json")
    tested = owner.post(f"{url}test-connection/").json()
    assert (tested["success"], tested["kind"]) == (False, "auth")

    changed = owner.patch(url, {"name": "Kept"}, format="json")
    assert changed.status_code == 200
    assert BounceMailbox.objects.get(pk=data["id"]).password == "wrong"

    viewer = api_for("viewer")
    assert viewer.get(url).json()["name"] == "Kept"
    assert viewer.patch(url, {"name": "No"}, format="json").status_code == 403
    assert viewer.post(f"{url}test-connection/").status_code == 403
    assert owner.delete(url).status_code == 204


def test_the_api_refuses_pop3_with_a_folder_move(personas, api_for, dovecot, private_ok):
    body = form(dovecot, protocol="pop3", disposal="move", enabled=None)
    response = api_for("owner").post(API, body, format="json")
    assert response.status_code == 400
    assert "disposal" in str(response.json())
