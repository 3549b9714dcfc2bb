"""The worker's duty turns each fact, made through the services, into one notification per
member who may see it: once, however often it runs."""

from __future__ import annotations

import pytest

from notifications.kinds import Kind
from notifications.models import Cursor, Notification
from notifications.tests import helpers
from sending.services import account_mark_error, account_set_status
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def told(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("user__email"))


def everyone(personas) -> list[str]:
    return sorted(u.email for u in (personas.owner, personas.editor, personas.viewer))


def run_twice() -> None:
    helpers.pass_once()
    helpers.pass_once()  # nothing is told twice


def test_a_campaign_paused_by_the_engine_is_told_with_its_reason(personas, smtp_sink):
    campaign = helpers.paused_by_engine(personas.workspace, smtp_sink)
    run_twice()
    rows = told(Kind.CAMPAIGN_PAUSED)
    assert [n.user.email for n in rows] == everyone(personas)
    assert {(n.subject_id, n.subject_name) for n in rows} == {(campaign.pk, "Spring")}
    assert "30 bounces" in rows[0].reason
    assert all(n.workspace_id == personas.workspace.pk for n in rows)


def test_a_campaign_paused_by_a_person_is_not_told(personas, smtp_sink):
    from campaigns.services import campaign_pause

    setup = helpers.running_campaign(personas.workspace, smtp_sink, "Spring", "by-hand")
    campaign_pause(campaign=setup.campaign)  # from a page or the API: no reason
    run_twice()
    assert not Notification.objects.exists()


def test_a_finished_campaign_is_told_once(personas, smtp_sink):
    campaign = helpers.finished(personas.workspace, smtp_sink)
    run_twice()
    rows = told(Kind.CAMPAIGN_FINISHED)
    assert [n.user.email for n in rows] == everyone(personas)
    assert {n.subject_id for n in rows} == {campaign.pk}


def test_a_campaign_that_failed_to_start_is_told(personas, smtp_sink):
    campaign = helpers.failed_to_start(personas.workspace, smtp_sink)
    run_twice()
    rows = told(Kind.CAMPAIGN_NOT_STARTED)
    assert len(rows) == 3
    assert {n.subject_id for n in rows} == {campaign.pk}
    assert "The launch failed" in rows[0].reason


def test_an_account_in_error_is_told_to_the_owners(personas):
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Main SMTP")
    account_mark_error(account=account, reason="535 5.7.8 Authentication credentials invalid")
    account_mark_error(account=account, reason="535 again")  # no change, nothing more
    account_set_status(account=account, status="active")  # back to work: not an error
    run_twice()
    [row] = told(Kind.ACCOUNT_ERROR)
    assert row.user == personas.owner
    assert row.subject_id == account.pk
    assert "Main SMTP" in row.subject_name
    assert row.reason.startswith("535 5.7.8")
    assert Notification.objects.count() == 1


def test_imports_finished_and_failed_are_told(personas):
    done = helpers.import_done(personas.workspace)
    failed = helpers.import_failed(personas.workspace)
    run_twice()
    assert [(n.subject_id, n.user.email) for n in told(Kind.IMPORT_DONE)] == [
        (done.pk, e) for e in everyone(personas)
    ]
    rows = told(Kind.IMPORT_FAILED)
    assert {(n.subject_id, n.subject_name) for n in rows} == {(failed.pk, "broken.csv")}
    assert "utf-8" in rows[0].reason


def test_a_webhook_endpoint_turned_off_is_told_to_the_owners(personas, receiver, settings):
    endpoint = helpers.webhook_turned_off(personas.workspace, receiver, settings)
    run_twice()
    [row] = told(Kind.WEBHOOK_DISABLED)
    assert (row.user, row.subject_id, row.subject_name) == (
        personas.owner,
        endpoint.pk,
        endpoint.url,
    )
    assert "HTTP 500" in row.reason


def test_an_endpoint_turned_off_by_a_person_is_not_told(personas, receiver):
    from webhooks.services import endpoint_update
    from webhooks.tests.factories import make_endpoint

    endpoint_update(endpoint=make_endpoint(personas.workspace, receiver.url), active=False)
    run_twice()
    assert not Notification.objects.exists()


def test_rates_near_the_pause_threshold_are_told_once(personas, smtp_sink, settings):
    from campaigns.models import Delivery, DeliveryStatus

    settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES = 2
    settings.CAMPAIGN_PAUSE_BOUNCE_RATE = 0.6  # 1 of 2 is 50%: near (over 48%), not over
    setup = helpers.running_campaign(personas.workspace, smtp_sink, "Autumn", "rate")
    deliveries = list(Delivery.objects.filter(campaign=setup.campaign).order_by("pk"))
    Delivery.objects.filter(pk=deliveries[0].pk).update(status=DeliveryStatus.SENT)
    Delivery.objects.filter(pk=deliveries[1].pk).update(status=DeliveryStatus.BOUNCED)
    helpers.pass_once()
    Cursor.objects.update(rates_checked_at=None)  # due again: still told once
    helpers.pass_once()
    rows = told(Kind.RATE_WARNING)
    assert [n.user.email for n in rows] == everyone(personas)
    assert "1 bounces in 2 delivered messages" in rows[0].reason


def test_rates_are_looked_at_only_every_so_often(personas, smtp_sink, settings):
    from campaigns.models import Delivery, DeliveryStatus

    settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES = 2
    settings.CAMPAIGN_PAUSE_BOUNCE_RATE = 0.6
    helpers.pass_once()  # looked at now, nothing running
    setup = helpers.running_campaign(personas.workspace, smtp_sink, "Autumn", "rate")
    Delivery.objects.filter(campaign=setup.campaign).update(status=DeliveryStatus.BOUNCED)
    Delivery.objects.filter(
        pk=Delivery.objects.filter(campaign=setup.campaign).order_by("pk")[0].pk
    ).update(status=DeliveryStatus.SENT)
    helpers.pass_once()
    assert not told(Kind.RATE_WARNING)


def test_members_who_joined_another_workspace_see_none_of_it(personas, smtp_sink):
    helpers.paused_by_engine(personas.workspace, smtp_sink)
    run_twice()
    assert not Notification.objects.filter(user=personas.outsider).exists()


def test_a_new_install_starts_after_what_already_happened(personas, smtp_sink):
    from notifications.collect import start_cursor

    helpers.paused_by_engine(personas.workspace, smtp_sink)
    Cursor.objects.all().delete()
    start_cursor()  # what the migration does on an existing install
    helpers.pass_once()
    assert not Notification.objects.exists()
