"""An account that goes to error is told: its workspace's owners by e-mail and on every page,
and webhooks as `account.status_changed` (webhooks/tests/test_account_events.py)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from campaigns.engine.step import Engine
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending.models import AccountStatus, AccountStatusChange
from sending.notices import NOTIFY_MAX_ATTEMPTS, notify_account_errors
from sending.services import account_mark_error, account_set_status, account_test
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def owners_mail(sink):
    return [m for m in sink.messages if "stopped sending" in m.subject]


def test_a_refused_password_while_sending_emails_every_owner_once(personas, smtp_sink):
    second_owner = MembershipFactory.create(
        workspace=personas.workspace, role=Role.OWNER, user__email="boss2@acme.test"
    )
    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, n=3, smtp_username="user", smtp_password="wrong"
    )
    campaign_start(campaign=setup.campaign)
    engine = Engine()
    for _ in range(5):
        engine.step()
    setup.account.refresh_from_db()
    assert setup.account.status == AccountStatus.ERROR
    smtp_sink.reset()  # the system mail goes to the same sink, without AUTH

    notify_account_errors(now=timezone.now())
    notify_account_errors(now=timezone.now())  # nothing twice

    [mail] = owners_mail(smtp_sink)
    assert sorted(mail.rcpt_tos) == sorted(["owner@acme.test", second_owner.user.email])
    assert setup.account.name in mail.subject
    assert "535" in (mail.text or "")  # the server's reply, so the owner knows what to fix
    change = AccountStatusChange.objects.get(account=setup.account)
    assert (change.previous_status, change.status) == (AccountStatus.ACTIVE, AccountStatus.ERROR)
    assert change.notified_at is not None


def test_marking_an_account_already_in_error_records_nothing_more(personas):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    account_mark_error(account=account, reason="535 still no")  # a second worker, same fault
    assert AccountStatusChange.objects.filter(account=account).count() == 1


def test_an_account_fixed_before_the_mail_went_out_sends_none(personas, smtp_sink):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    account_set_status(account=account, status=AccountStatus.ACTIVE)
    notify_account_errors(now=timezone.now())
    assert owners_mail(smtp_sink) == []
    assert not AccountStatusChange.objects.filter(notify_after__isnull=False).exists()


def test_a_failing_system_mail_server_is_tried_again_then_given_up(personas, smtp_sink):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    smtp_sink.stop()
    now = timezone.now()
    for _ in range(NOTIFY_MAX_ATTEMPTS):
        notify_account_errors(now=now)
        change = AccountStatusChange.objects.get()
        if change.notify_after is None:
            break
        assert change.notify_after > now  # not again at once: a growing pause
        now = change.notify_after
    assert change.notify_attempts == NOTIFY_MAX_ATTEMPTS
    assert change.notified_at is None


def test_a_mail_server_back_in_time_gets_the_mail_through(personas, smtp_sink):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    smtp_sink.stop()
    notify_account_errors(now=timezone.now())
    smtp_sink.start()
    notify_account_errors(now=timezone.now() + timedelta(hours=1))
    assert len(owners_mail(smtp_sink)) == 1


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
    assert change.notify_after is not None


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


def test_the_cron_pass_tells_the_owners_too(personas, smtp_sink, mailoutbox):
    """`manage.py send_emails` (one pass for cron) has no worker after it to send the e-mail."""
    from django.core.management import call_command

    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, n=2, smtp_username="user", smtp_password="wrong"
    )
    campaign_start(campaign=setup.campaign)
    call_command("send_emails", stdout=StringIO())
    [mail] = [m for m in mailoutbox if "stopped sending" in m.subject]
    assert mail.to == ["owner@acme.test"]


def test_both_drivers_send_the_owners_mail(personas, smtp_sink):
    """The embedded worker loops over the step; Celery beat queues the task, which sends."""
    from django.conf import settings as django_settings

    from postroom.worker import DUTIES
    from sending.notices import run_notice_step
    from sending.tasks import notice_pass

    assert run_notice_step in DUTIES
    assert django_settings.CELERY_BEAT_SCHEDULE["notices"]["task"] == notice_pass.name
    assert "sending.tasks" in django_settings.CELERY_IMPORTS
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    assert notice_pass() >= 1
    assert len(owners_mail(smtp_sink)) == 1
