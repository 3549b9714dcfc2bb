"""A receiver that fails is retried with backoff, then gets everything once; one that hangs
costs the worker one timeout; one failing for long is disabled with the reason."""

import time

import pytest

from webhooks.dispatch import run_webhook_step
from webhooks.models import Endpoint, Event, EventState
from webhooks.services import endpoint_update, event_retry_now, outbox_add
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def queue_pings(endpoint, n):
    from django.utils import timezone

    from webhooks import events as catalogue

    now = timezone.now()
    return [
        outbox_add(
            endpoint=endpoint,
            events=[catalogue.ping_event(workspace_id=endpoint.workspace_id, at=now)],
            now=now,
        )
        for _ in range(n)
    ]


def run_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not run_webhook_step():
            time.sleep(0.1)
        if not Event.objects.filter(state=EventState.PENDING).exists():
            return


def test_a_failing_receiver_gets_every_event_once_after_backoff(personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    queued = queue_pings(endpoint, 3)
    receiver.statuses = [500, 503]

    run_webhook_step()
    # The first request failed; the endpoint backs off as a whole: nothing else was tried.
    assert [r.answered for r in receiver.requests] == [500]
    first = Event.objects.get(pk=queued[0].pk)
    assert first.state == EventState.PENDING
    assert first.attempts == 1
    assert first.last_status_code == 500
    assert first.last_error == "HTTP 500"
    assert "receiver error" in first.response_excerpt
    assert len(first.response_excerpt) <= 500
    waits = Event.objects.filter(pk__in=[e.pk for e in queued]).values_list(
        "next_attempt_at", flat=True
    )
    assert first.last_attempt_at is not None
    assert all(w > first.last_attempt_at for w in waits)

    run_for(10)

    assert Event.objects.filter(state=EventState.DELIVERED).count() == 3
    accepted_ids = [e["id"] for r in receiver.accepted() for e in r.events]
    sent_ids = [e.payload["events"][0]["id"] for e in queued]
    assert sorted(accepted_ids) == sorted(sent_ids)
    assert [r.answered for r in receiver.requests][:2] == [500, 503]
    # Same Postroom-Event-Id on the retry of the same request.
    by_event: dict[str, list[int]] = {}
    for r in receiver.requests:
        by_event.setdefault(r.headers["Postroom-Event-Id"], []).append(r.answered)
    assert sorted(len(v) for v in by_event.values()) == [1, 1, 3]
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0
    assert endpoint.last_success_at is not None


def test_a_request_fails_for_good_after_its_attempts(personas, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    endpoint = make_endpoint(personas.workspace, receiver.url)
    [event] = queue_pings(endpoint, 1)
    receiver.default = 500
    run_for(3)
    event.refresh_from_db()
    assert event.state == EventState.FAILED
    assert event.attempts == 2
    # "Retry now" gives it one more try, which succeeds once the receiver is back.
    receiver.default = 200
    event = event_retry_now(event=event)
    assert event.state == EventState.DELIVERED
    assert event.attempts == 3


def test_a_hanging_receiver_costs_one_timeout(personas, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint = make_endpoint(personas.workspace, receiver.url)
    queue_pings(endpoint, 5)
    receiver.hang_seconds = 5
    started = time.monotonic()
    run_webhook_step()
    elapsed = time.monotonic() - started
    # One 0.5 s timeout, with room for a busy machine; waiting out the hang (5 s) or one
    # timeout per queued ping (2.5 s) would not fit.
    assert elapsed < 2.4, elapsed
    [tried] = Event.objects.exclude(attempts=0)
    assert "No answer within" in tried.last_error
    assert tried.last_status_code is None


def test_an_endpoint_failing_for_long_is_disabled_with_the_reason(personas, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    endpoint = make_endpoint(personas.workspace, receiver.url)
    queue_pings(endpoint, 1)
    receiver.default = 500
    run_webhook_step()
    run_webhook_step()
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "after 2 failed requests" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    tried = len(receiver.requests)
    run_webhook_step()
    assert len(receiver.requests) == tried  # a disabled endpoint is not sent to
    # Enabling it again clears the record and sends what waits.
    receiver.default = 200
    endpoint_update(endpoint=endpoint, active=True)
    run_webhook_step()
    assert Endpoint.objects.get(pk=endpoint.pk).disabled_reason == ""
    assert Event.objects.get().state == EventState.DELIVERED
