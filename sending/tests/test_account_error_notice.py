"""An account that goes to error is told: on every page, to its members as a notification
(notifications/tests), and to webhooks as `account.status_changed`."""

from __future__ import annotations

import pytest
from django.test import Client

from sending.models import AccountStatus, AccountStatusChange
from sending.services import account_mark_error, account_set_status, account_test
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def test_marking_an_account_already_in_error_records_nothing_more(personas):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    account_mark_error(account=account, reason="535 still no")  # a second worker, same fault
    assert AccountStatusChange.objects.filter(account=account).count() == 1


def test_a_failed_connection_test_is_a_change_to_error_too(personas, smtp_sink):
    smtp_sink.require_auth("user", "right")
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_username="user",
        smtp_password="wrong",
    )
    assert not account_test(account=account).success
    change = AccountStatusChange.objects.get(account=account)
    assert change.status == AccountStatus.ERROR


def test_every_page_of_the_workspace_shows_the_account_in_error_until_it_is_fixed(personas):
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Newsletter SMTP")
    account_mark_error(account=account, reason="535 5.7.8 Authentication credentials invalid")
    client = Client()
    client.force_login(personas.viewer)
    for url in ("/", "/campaigns/", "/sending-accounts/"):
        page = client.get(url).content.decode()
        assert f'data-account-error="{account.pk}"' in page, url
        assert "Newsletter SMTP" in page
        assert "Authentication credentials invalid" in page
    account_set_status(account=account, status=AccountStatus.ACTIVE)
    assert "data-account-error" not in client.get("/").content.decode()


def test_another_workspace_does_not_see_the_notice(personas):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    client = Client()
    client.force_login(personas.outsider)
    assert "data-account-error" not in client.get("/").content.decode()
