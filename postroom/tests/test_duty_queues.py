"""Celery keeps one queue per duty (settings.DUTY_QUEUES), so that a machine can be given only
some duties: `celery -A postroom worker -Q postroom.imports` imports and never sends.

Checked against a real Redis broker of the test's own: each duty's task lands in its own queue
and in no other, and a worker started without -Q takes every queue.
"""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from kombu.connection import Connection

from postroom.celery import app

DUTIES = {
    "campaigns.engine_pass": "postroom.engine",
    "audience.job_pass": "postroom.imports",
    "automation.sequence_pass": "postroom.sequences",
    "webhooks.webhook_pass": "postroom",
    "notifications.notification_pass": "postroom",
    "postroom.housekeeping": "postroom",
}


def queue_of(task: str) -> Any:
    return app.amqp.router.route({}, task)["queue"].name


@pytest.mark.parametrize(("task", "queue"), DUTIES.items())
def test_each_duty_is_routed_to_its_queue(task, queue):
    assert queue_of(task) == queue


def test_every_scheduled_task_goes_to_a_queue_a_plain_worker_takes():
    consumed = set(app.amqp.queues.consume_from)  # what `celery worker` without -Q reads
    assert {queue_of(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= (
        consumed
    )
    assert set(settings.DUTY_QUEUES.values()) | {"postroom"} == consumed


def test_no_two_queues_share_a_routing_key():
    """On the direct exchange (RabbitMQ, and Redis's emulation of it) a shared key would put a
    message sent to the exchange in every queue: each machine would run the same pass."""
    keys = [(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()]
    assert len(keys) == len(set(keys))
    assert all(key for _, key in keys)


def test_a_task_lands_in_its_duty_queue_and_in_no_other_on_a_real_broker(broker):
    producer_app = Celery("postroom-test", set_as_current=False)
    producer_app.config_from_object("django.conf:settings", namespace="CELERY")
    producer_app.conf.broker_url = broker.url
    with Connection(broker.url) as connection:  # every queue bound, as the workers do
        for queue in app.amqp.queues.values():
            queue.bind(connection.default_channel).declare()
    with producer_app.connection_for_write() as connection:
        for task in DUTIES:
            producer_app.send_task(task, connection=connection)

    found: dict[str, list[str]] = {}
    with Connection(broker.url) as connection:
        for name, queue in app.amqp.queues.items():
            simple = connection.SimpleQueue(queue)
            while True:
                try:
                    message = simple.get(block=False)
                except simple.Empty:
                    break
                found.setdefault(name, []).append(message.headers["task"])
                message.ack()
            simple.close()
    expected: dict[str, list[str]] = {}
    for task, queue in DUTIES.items():
        expected.setdefault(queue, []).append(task)
    assert {q: sorted(t) for q, t in found.items()} == {q: sorted(t) for q, t in expected.items()}
