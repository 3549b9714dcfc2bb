"""The Celery application: `celery -A postroom worker` and `celery -A postroom beat`.

Tasks are thin shells around the delivery engine's steps (campaigns/workers/tasks.py); the
embedded worker (`manage.py worker`) runs the same steps without a broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

app = Celery("postroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["campaigns.workers"])
