"""Notifications are e-mailed to those who chose it, each in their profile language, through
the system mail (the SMTP sink here), and never twice."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from notifications.kinds import Kind
from notifications.mail import MAX_ATTEMPTS, email_due
from notifications.models import Notification
from notifications.services import email_choices_set
from notifications.tests import helpers
from sending.services import account_mark_error, account_set_status
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def to(sink, email: str) -> list[Any]:
    return [m for m in sink.messages if m.rcpt_tos == [email]]


def russian_owner(personas):
    user = MembershipFactory.create(
        workspace=personas.workspace, role=Role.OWNER, user__email="boss2@acme.test"
    ).user
    user.language = "ru"
    user.save(update_fields=["language"])
    return user


def test_each_reader_gets_it_in_their_language_once(personas, smtp_sink):
    russian = russian_owner(personas)
    helpers.paused_by_engine(personas.workspace, smtp_sink, name="Spring <b>sale</b>")
    smtp_sink.reset()
    helpers.pass_once()
    email_due(now=timezone.now())
    email_due(now=timezone.now())  # nothing twice

    [english] = to(smtp_sink, "owner@acme.test")
    assert english.subject.strip() == "[Postroom] Campaign “Spring <b>sale</b>” was paused."
    assert "30 bounces" in english.text
    assert "https://mail.example.test/campaigns/" in english.text
    assert "&lt;b&gt;sale" in english.html  # the name is escaped in the HTML part
    [in_russian] = to(smtp_sink, russian.email)
    assert in_russian.subject.strip() == "[Postroom] Кампания «Spring <b>sale</b>» приостановлена."
    for part in (in_russian.text, in_russian.html):
        assert "Причина:" in part
        assert "Reason:" not in part
    assert not Notification.objects.filter(emailed_at__isnull=True, email_after__isnull=False)


def test_a_kind_not_chosen_is_not_emailed_and_a_chosen_one_is(personas, smtp_sink):
    email_choices_set(user=personas.editor, by_email={Kind.CAMPAIGN_PAUSED: False})
    email_choices_set(user=personas.viewer, by_email={Kind.IMPORT_DONE: True})
    helpers.paused_by_engine(personas.workspace, smtp_sink)
    helpers.import_done(personas.workspace)
    smtp_sink.reset()
    helpers.pass_once()
    email_due(now=timezone.now())
    assert len(to(smtp_sink, "owner@acme.test")) == 1  # paused (import: off by default)
    assert to(smtp_sink, "editor@acme.test") == []
    subjects = sorted(m.subject.strip() for m in to(smtp_sink, "viewer@acme.test"))
    assert subjects == [
        "[Postroom] Campaign “Spring” was paused.",
        "[Postroom] Import of “people.csv” finished.",
    ]
    # Still shown in the app to the editor who wanted no e-mail.
    assert Notification.objects.filter(user=personas.editor).count() == 2


def test_the_account_error_mail_replaces_sendings_own(personas, smtp_sink):
    russian = russian_owner(personas)
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Main SMTP")
    account_mark_error(account=account, reason="535 5.7.8 Authentication credentials invalid")
    helpers.pass_once()
    email_due(now=timezone.now())
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        russian.email,
        "owner@acme.test",
    ]
    [english] = to(smtp_sink, "owner@acme.test")
    assert "Main SMTP" in english.subject
    assert "535 5.7.8" in english.text
    [in_russian] = to(smtp_sink, russian.email)
    assert "Аккаунт отправки" in in_russian.subject


def test_an_account_fixed_before_the_mail_went_out_sends_none(personas, smtp_sink):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    helpers.pass_once()
    account_set_status(account=account, status="active")
    email_due(now=timezone.now())
    assert smtp_sink.messages == []
    assert Notification.objects.get().email_after is None


def test_a_failing_mail_server_is_tried_again_then_given_up(personas, smtp_sink):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    helpers.pass_once()
    smtp_sink.stop()
    now = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        email_due(now=now)
        row = Notification.objects.get()
        if row.email_after is None:
            break
        assert row.email_after > now  # not again at once: a growing pause
        now = row.email_after
    assert (row.email_attempts, row.emailed_at) == (MAX_ATTEMPTS, None)


def test_a_mail_server_back_in_time_gets_the_mail_through(personas, smtp_sink):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    helpers.pass_once()
    smtp_sink.stop()
    email_due(now=timezone.now())
    smtp_sink.start()
    email_due(now=timezone.now() + timedelta(hours=1))
    assert len(smtp_sink.messages) == 1
    assert Notification.objects.get().emailed_at is not None


def test_the_cron_pass_tells_at_once(personas, smtp_sink, mailoutbox):
    """`manage.py send_emails` has no worker after it: it runs the notification duty too."""
    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, n=2, smtp_username="user", smtp_password="wrong"
    )
    campaign_start(campaign=setup.campaign)
    call_command("send_emails", stdout=StringIO())
    [mail] = [m for m in mailoutbox if "Sending account" in m.subject]
    assert mail.to == ["owner@acme.test"]


def test_both_drivers_run_the_duty(personas, smtp_sink):
    from django.conf import settings as django_settings

    from notifications.duty import notification_pass, run_notification_step
    from postroom.worker import DUTIES

    assert run_notification_step in DUTIES
    assert django_settings.CELERY_BEAT_SCHEDULE["notifications"]["task"] == notification_pass.name
    assert "notifications.duty" in django_settings.CELERY_IMPORTS
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    assert notification_pass() >= 1
    assert len(smtp_sink.messages) == 1
