"""The Celery application: `celery -A postroom worker` and `celery -A postroom beat`.

Tasks are thin shells around the delivery engine's steps (campaigns/workers/tasks.py); the
embedded worker (`manage.py worker`) runs the same steps without a broker.
"""

import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

app = Celery("postroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["campaigns.workers"])


def settle_heap(**_: object) -> None:
    """Once a worker (or a child of its pool) has started: see core.heap."""
    from core import heap  # Django's apps are loaded by now, not when this module is

    heap.settle()


worker_ready.connect(settle_heap, weak=False)
worker_process_init.connect(settle_heap, weak=False)
