"""POST /api/email-accounts/{account_id}/test-connection/ (the seed's path) on the API's auth,
against the real SMTP sink."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from sending.models import AccountStatus
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def url(account_id: int) -> str:
    return f"/api/email-accounts/{account_id}/test-connection/"


def test_the_route_keeps_the_seeds_path_in_the_api_namespace():
    name = "api:email_account_test_connection"
    assert reverse(name, kwargs={"account_id": 7}) == url(7)


def test_a_working_account_answers_as_the_seed_does(personas, api_for, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        status=AccountStatus.PENDING,
    )
    response = api_for("editor").post(url(account.pk))
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": f"SMTP connection successful for {account.from_email}",
        "email": account.from_email,
        "account_email": account.from_email,
        "status": "active",
    }
    assert smtp_sink.connections == 1
    assert smtp_sink.messages == []  # it connects and logs in; it sends nothing
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.last_tested_at is not None


def test_a_refused_login_says_so_and_puts_the_account_in_error(personas, api_for, smtp_sink):
    smtp_sink.require_auth("mailer", "right-Secret-1")
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_username="mailer",
        smtp_password="wrong-Secret-2",
    )
    response = api_for("editor").post(url(account.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert "refused the user name or password" in body["message"]
    assert body["status"] == "error"
    assert "Secret" not in response.content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.ERROR
    assert "refused the user name or password" in account.status_reason


def test_a_private_address_is_refused_at_connection_time(personas, api_for, smtp_sink, settings):
    # Saved while allowed (or a name that resolves to loopback): the connection still refuses.
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    body = api_for("editor").post(url(account.pk)).json()
    assert body["success"] is False
    assert "Private address refused" in body["message"]
    assert smtp_sink.connections == 0


def test_it_sends_a_test_message_only_when_asked(personas, api_for, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    body = api_for("owner").post(url(account.pk), {"send_to": "me@example.test"}).json()
    assert body["success"] is True
    assert body["message"] == f"Test message sent from {account.from_email} to me@example.test"
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ["me@example.test"]


def test_a_bad_test_address_is_a_400(personas, api_for):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    response = api_for("editor").post(url(account.pk), {"send_to": "nobody"})
    assert response.status_code == 400
    assert "send_to" in response.json()["error"]["fields"]


def test_a_user_tests_with_a_jwt(personas, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    client = APIClient()
    login = client.post("/api/login/", {"email": "editor@acme.test", "password": PASSWORD})
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert client.post(url(account.pk)).json()["success"] is True


def test_viewers_outsiders_and_strangers_are_refused(personas, api_for, viewer_client, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    outsider = APIClient()
    outsider.force_authenticate(personas.outsider)
    assert api_for("viewer").post(url(account.pk)).status_code == 403
    assert viewer_client.post(url(account.pk)).status_code == 403  # the browser's session too
    assert outsider.post(url(account.pk)).status_code == 404
    anonymous = APIClient().post(url(account.pk))
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert api_for("editor").get(url(account.pk)).status_code == 405
    assert smtp_sink.connections == 0
