"""A sending account's status changes reach webhooks as `account.status_changed`, read from
the accounts' change log by cursor (sending knows nothing of webhooks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sending.models import AccountStatus
from sending.services import account_mark_error, account_set_status
from sending.tests.factories import SendingAccountFactory
from webhooks.collect import collect_workspace
from webhooks.dispatch import run_webhook_step
from webhooks.models import Event
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_webhooks_get_account_status_changed(personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url, ["account.status_changed"])
    account = SendingAccountFactory.create(workspace=personas.workspace, name="Main")
    account_mark_error(account=account, reason="535 no")
    account_set_status(account=account, status=AccountStatus.ACTIVE)
    later = timezone.now() + timedelta(minutes=5)  # past the settle time on PostgreSQL

    collect_workspace(workspace_id=personas.workspace.pk, now=later)
    collect_workspace(workspace_id=personas.workspace.pk, now=later)  # read once

    events = [e for row in Event.objects.filter(endpoint=endpoint) for e in row.payload["events"]]
    assert [(e["type"], e["data"]["status"]) for e in events] == [
        ("account.status_changed", "error"),
        ("account.status_changed", "active"),
    ]
    assert events[0]["data"]["account"] == {
        "id": account.pk,
        "name": "Main",
        "from_email": account.from_email,
    }
    assert events[0]["data"]["reason"] == "535 no"
    assert events[0]["id"] != events[1]["id"]


def test_changes_before_the_endpoint_existed_are_not_replayed(personas, receiver):
    account = SendingAccountFactory.create(workspace=personas.workspace)
    account_mark_error(account=account, reason="535 no")
    make_endpoint(personas.workspace, receiver.url, ["*"])
    account_set_status(account=account, status=AccountStatus.ACTIVE)
    for _ in range(5):
        if not run_webhook_step():
            break
    events = [e for r in receiver.accepted() for e in r.events]
    assert [e["data"]["status"] for e in events if e["type"] == "account.status_changed"] == [
        "active"
    ]
