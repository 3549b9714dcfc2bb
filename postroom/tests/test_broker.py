"""The Redis transport of the Celery broker keeps a worker alive when the broker goes away
while a task holds an unacknowledged message (postroom/broker.py).

The process test in campaigns/tests/test_engine_processes.py stops a real broker for 15 s
under a real worker; this one replays, in order, the steps of Celery's consumer that made
kombu raise (the channel's pools dropped, the transport's client released, the channel
closed), so that the fault is caught every time and not three runs in four.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.entity import Exchange, Queue

from campaigns.tests.processes import ROOT, PrivateRedis


def close_after_the_broker_went_away(broker: PrivateRedis, transport: str | None) -> Any:
    """The consumer's steps; returns the message of the task that was running."""
    connection = Connection(broker.url, transport=transport)
    channel: Any = connection.default_channel  # kombu's redis Channel
    work = Queue("work", Exchange("work"), "work", channel=channel)
    work.declare()
    connection.Producer().publish({"pass": 1}, exchange="work", routing_key="work", declare=[work])
    message = work.get(no_ack=False)
    assert message is not None  # a task running, its message not yet acked
    broker.stop()
    channel._disconnect_pools()
    connection._do_close_transport()
    channel.close()
    return message


def test_kombus_own_transport_raises_what_stopped_the_worker(broker):
    """Upstream's fault. When a kombu release fixes it, this fails: drop postroom/broker.py."""
    with pytest.raises(AttributeError, match="hostname"):
        close_after_the_broker_went_away(broker, None)


def test_postroom_transport_closes_and_leaves_the_message_to_the_broker(broker, caplog):
    close_after_the_broker_went_away(broker, "postroom.broker:Transport")
    assert "1 unacknowledged message(s) left" in caplog.text


def test_a_task_that_ends_after_the_broker_came_back_acks_without_stopping_the_worker(
    broker, caplog
):
    """The task ran through the outage (acks late): its ack goes to the closed channel of the
    old connection, whose client is gone. kombu raised AttributeError ('client') there, and
    the worker stopped for good after the broker was back (seen in the process test)."""
    message = close_after_the_broker_went_away(broker, "postroom.broker:Transport")
    broker.start()
    message.ack()
    assert "acknowledgement" in caplog.text


def test_the_settings_use_it_for_a_redis_broker():
    code = "from django.conf import settings; print(settings.CELERY_BROKER_TRANSPORT)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "postroom.settings",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "postroom.broker:Transport"
