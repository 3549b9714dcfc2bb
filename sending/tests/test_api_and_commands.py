"""The management commands of the seed (its test-connection API: test_api_test_connection)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sending.models import AccountStatus
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


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
