"""The Celery broker's Redis transport, made to survive a broker restart.

With kombu 5.7 and Celery 5.7 a worker that loses its Redis broker while it holds an
unacknowledged message (a task running: `CELERY_TASK_ACKS_LATE`) exits with
``AttributeError: 'NoneType' object has no attribute 'hostname'``: after the connection
error the consumer first releases the transport's client (`Connection.collect()`), then
closes the channel, whose QoS tries to give the unacknowledged messages back through that
client. The AttributeError is not a connection error, so the worker takes it as
unrecoverable and stops for good; sending stops until someone restarts it.

Here the QoS gives nothing back when the client is gone: the messages stay in Redis's
unacked index (restored by a consumer after the visibility timeout, or lost with a broker
that restarted empty), and the worker goes on to reconnect.

The same fault has a second face: a task that ran through the outage finishes after the
worker reconnected, and its late ack goes to the old, closed channel, which has no
connection left (AttributeError: 'NoneType' object has no attribute 'client'). That ack is
dropped as well: its message is in the old broker's unacked index, if anywhere.

Nothing depends on those messages: beat queues an engine pass every few seconds, each
expiring after ten, and the deliveries a pass was sending are under leases that return them
to the queue.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis

log = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked(self, client: Any = None) -> Any:
        if client is None and self._closed():
            log.warning(
                "broker connection lost: %d unacknowledged message(s) left to the broker's "
                "visibility timeout",
                len(self._delivered),
            )
            self._delivered.clear()
            return None
        return super().restore_unacked(client)  # type: ignore[no-untyped-call]

    def ack(self, delivery_tag: Any) -> Any:
        if self._closed():
            log.warning(
                "broker connection lost: the acknowledgement of a task that ended after it "
                "is left to the broker's visibility timeout"
            )
            self._delivered.pop(delivery_tag, None)
            return None
        return super().ack(delivery_tag)  # type: ignore[no-untyped-call]

    def reject(self, delivery_tag: Any, requeue: bool = False) -> Any:
        if self._closed():
            self._delivered.pop(delivery_tag, None)
            return None
        return super().reject(delivery_tag, requeue)  # type: ignore[no-untyped-call]

    def _closed(self) -> bool:
        """The channel's connection is gone (closed after the broker went away)."""
        return self.channel.connection is None or self.channel.connection.client is None


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
