"""Engagement: whether an address opened or clicked, as a subquery that segments can use.

Audience sits below tracking in the layers, and tracking owns the events. So audience only
declares what it asks ("did this row's address open or click, in campaign X or since T?"),
and tracking answers it: `TrackingConfig.ready` registers its query here. Audience then names
no model above it, neither by import nor by label, and the layers contract holds for real.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists

# (kinds, campaign id or None, since or None) -> EXISTS over the events of the outer row's
# workspace and address ("workspace_id" and "email" of the outer query), people only.
EventsExist = Callable[[tuple[str, ...], int | None, datetime | None], Exists]

_answer: EventsExist | None = None


def answer_with(query: EventsExist) -> None:
    """Register the query that answers engagement conditions (tracking does, at start-up)."""
    global _answer
    _answer = query


def events_exist(
    kinds: tuple[str, ...], *, campaign_id: int | None = None, since: datetime | None = None
) -> Exists:
    """EXISTS: the outer row's address had a human event of one of `kinds` in its workspace,
    in campaign `campaign_id` or since `since`."""
    if _answer is None:
        raise ImproperlyConfigured("Engagement segments need the tracking app installed.")
    return _answer(kinds, campaign_id, since)
