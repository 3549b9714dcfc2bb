"""The test-connection API and the management commands of the seed."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sending.models import AccountStatus
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def url(account_id: int) -> str:
    return f"/api/email-accounts/{account_id}/test-connection/"


def test_the_api_answers_as_the_seed_does(personas, editor_client, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    response = editor_client.post(url(account.pk))
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": f"SMTP connection successful for {account.from_email}",
        "email": account.from_email,
        "account_email": account.from_email,
    }
    assert smtp_sink.messages == []


def test_the_api_reports_a_wrong_password_in_words(personas, owner_client, smtp_sink):
    smtp_sink.require_auth("mailer", "right")
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_username="mailer",
        smtp_password="wrong",
    )
    body = owner_client.post(url(account.pk)).json()
    assert body["success"] is False
    assert "refused the user name or password" in body["message"]
    assert "wrong" not in body["message"]


def test_the_api_sends_a_test_message_only_when_asked(personas, editor_client, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    body = editor_client.post(
        url(account.pk), {"send_to": "me@example.test"}, content_type="application/json"
    ).json()
    assert body["success"] is True
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ["me@example.test"]


def test_the_api_refuses_viewers_outsiders_and_strangers(
    personas, viewer_client, outsider_client, client
):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    assert viewer_client.post(url(account.pk)).status_code == 403
    assert outsider_client.post(url(account.pk)).status_code == 404
    assert client.post(url(account.pk)).status_code in (401, 403)
    assert viewer_client.get(url(account.pk)).status_code == 405


def test_the_command_tests_every_active_account(personas, smtp_sink):
    good = SendingAccountFactory.create(
        workspace=personas.workspace, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port
    )
    SendingAccountFactory.create(workspace=personas.workspace, status=AccountStatus.INACTIVE)
    out = io.StringIO()
    call_command("test_email_accounts", stdout=out)
    lines = out.getvalue()
    assert f"OK   #{good.pk} {good.from_email}" in lines
    assert "inactive" not in lines


def test_the_command_takes_an_account_id_or_an_email(personas, smtp_sink):
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        from_email="pick@acme.example",
    )
    out = io.StringIO()
    call_command("test_email_accounts", "--account-id", str(account.pk), stdout=out)
    call_command("test_email_accounts", "--email", "PICK@acme.example", stdout=out)
    assert out.getvalue().count("OK   #") == 2


def test_the_command_fails_loudly(personas, smtp_sink):
    smtp_sink.require_auth("u", "right")
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_username="u",
        smtp_password="wrong",
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1"):
        call_command("test_email_accounts", "--account-id", str(account.pk), stdout=out)
    assert "FAIL" in out.getvalue()
    with pytest.raises(CommandError, match="No sending account"):
        call_command("test_email_accounts", "--email", "nobody@nowhere.example")
