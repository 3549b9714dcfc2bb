"""Workers say they are alive, at most every BEAT_SECONDS; readers ask who was seen lately."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import WorkerHeartbeat

BEAT_SECONDS = 5
# A worker not seen for this long is taken for dead (it beats every BEAT_SECONDS while idle,
# and a step may take a while: a large batch into a slow server).
ALIVE_WITHIN = timedelta(seconds=60)


class Heartbeat:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.last = 0.0

    def beat(self) -> None:
        """Record that this worker is alive, unless it did so in the last BEAT_SECONDS."""
        if time.monotonic() - self.last < BEAT_SECONDS:
            return
        self.last = time.monotonic()
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            name=self.name, defaults={"kind": self.kind, "seen_at": now}
        )

    def stop(self) -> None:
        WorkerHeartbeat.objects.filter(name=self.name).delete()


def workers_alive(now: datetime | None = None) -> QuerySet[WorkerHeartbeat]:
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(seen_at__gte=now - ALIVE_WITHIN)


def forget_dead(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()[0]
