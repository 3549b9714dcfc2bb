import time
from datetime import timedelta

import pytest
from django.utils import timezone

from postroom import housekeeping
from sending.models import CapturedMessage
from webhooks.models import Event, EventState
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


def _event(endpoint, state: str, age_days: float) -> Event:
    return Event.objects.create(
        workspace=endpoint.workspace,
        endpoint=endpoint,
        event_type="webhook.test",
        payload={"events": []},
        state=state,
        created_at=timezone.now() - timedelta(days=age_days),
    )


def test_finished_requests_past_the_retention_go_pending_ones_stay(personas, settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 14
    endpoint = endpoint_create(
        workspace=personas.workspace, url="http://127.0.0.1:9/in", events=["*"]
    ).endpoint
    gone = [_event(endpoint, EventState.DELIVERED, 15), _event(endpoint, EventState.FAILED, 20)]
    kept = [
        _event(endpoint, EventState.PENDING, 30),  # still to be delivered: never purged
        _event(endpoint, EventState.DELIVERED, 13),
    ]
    CapturedMessage.objects.create(
        workspace=personas.workspace,
        envelope_from="a@acme.test",
        raw=b"x",
        created_at=timezone.now() - timedelta(days=400),
    )

    removed = housekeeping.housekeeping()
    assert (removed["captured_messages"], removed["webhook_requests"]) == (1, len(gone))
    assert removed["expired_tokens"] == 0
    assert set(Event.objects.values_list("pk", flat=True)) == {e.pk for e in kept}


def test_the_worker_step_cleans_at_most_once_an_hour(personas, settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 14
    endpoint = endpoint_create(
        workspace=personas.workspace, url="http://127.0.0.1:9/in", events=["*"]
    ).endpoint
    now = 1000.0
    step = housekeeping.HousekeepingStep(clock=lambda: now)

    _event(endpoint, EventState.DELIVERED, 15)
    assert not step()  # the first step cleans at once
    assert not Event.objects.exists()
    event = _event(endpoint, EventState.DELIVERED, 15)
    now += 1
    assert not step()  # a second later: not again
    assert Event.objects.filter(pk=event.pk).exists()
    now += 3600
    assert not step()  # an hour after the first: again
    assert not Event.objects.filter(pk=event.pk).exists()


def test_the_worker_runs_one_step_per_process_on_the_monotonic_clock():
    assert isinstance(housekeeping.run_housekeeping_step, housekeeping.HousekeepingStep)
    assert housekeeping.run_housekeeping_step.clock is time.monotonic
    assert housekeeping.run_housekeeping_step.interval == 3600
