"""Both drivers run the webhook step: the embedded worker (postroom.worker) and Celery beat."""

import pytest
from django.conf import settings as django_settings
from django.db import connection

from postroom.worker import DUTIES
from webhooks.dispatch import run_webhook_step
from webhooks.models import Cursor
from webhooks.tasks import webhook_pass
from webhooks.tests.factories import make_endpoint
from webhooks.tests.test_delivery_events import make_attempts

pytestmark = pytest.mark.django_db


def test_the_embedded_worker_and_beat_run_the_step():
    assert run_webhook_step in DUTIES
    assert django_settings.CELERY_BEAT_SCHEDULE["webhooks"]["task"] == webhook_pass.name
    assert "webhooks.tasks" in django_settings.CELERY_IMPORTS


def test_the_celery_task_sends_what_is_queued(personas, receiver):
    make_endpoint(personas.workspace, receiver.url, ["delivery.sent"])
    make_attempts(personas.workspace, [("sent", "sent", 250)] * 3)
    assert webhook_pass() >= 1
    [request] = receiver.accepted()
    assert len(request.events) == 3


def test_young_attempts_wait_to_settle_on_postgresql_only(personas, receiver, settings):
    settings.WEBHOOK_SETTLE_SECONDS = 3600
    make_endpoint(personas.workspace, receiver.url, ["delivery.sent"])
    start = Cursor.objects.get(workspace=personas.workspace).attempt_id
    make_attempts(personas.workspace, [("sent", "sent", 250)])
    run_webhook_step()
    if connection.vendor == "postgresql":
        # A lower id may still commit after it: the cursor does not pass it yet.
        assert receiver.requests == []
        assert Cursor.objects.get(workspace=personas.workspace).attempt_id == start
    else:  # SQLite commits one transaction at a time, in id order
        assert len(receiver.accepted()) == 1
