"""The attempt table, partitioned by month of `created_at` on PostgreSQL (see core.partitions:
partitions made ahead by the hourly housekeeping, a default one for the rest; migration 0020),
and forgetting attempts older than ATTEMPT_RETENTION_MONTHS.

What the pages keep elsewhere does not change when old attempts go: a campaign's counts come
from its deliveries (and, once finished, its frozen `final_counts`), its report's figures from
deliveries and events. What reads attempts reads recent ones (the dashboard's and the rates'
30 days, a running campaign's rate), or lists them (the attempt log, a delivery's tries, a
recipient's history, a campaign's count on its delete page): those list what is kept.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from campaigns.models import Attempt
from core.partitions import Forgotten, Monthly, forget_past_retention

ATTEMPTS = Monthly("campaigns_attempt", "created_at")


def forget_old_attempts(*, today: dt.date, months: int | None = None) -> Forgotten:
    """Forget the attempts older than this month and the `months` before it (default
    ATTEMPT_RETENTION_MONTHS; 0 keeps every attempt)."""
    months = settings.ATTEMPT_RETENTION_MONTHS if months is None else months
    return forget_past_retention(ATTEMPTS, Attempt, today=today, months=months)
