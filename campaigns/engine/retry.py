"""When the engine tries a delivery again: the shared backoff, timed by the settings."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from core.backoff import Backoff


class RetryPolicy(Backoff):
    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            base=timedelta(seconds=settings.DELIVERY_RETRY_BASE_SECONDS),
            cap=timedelta(seconds=settings.DELIVERY_RETRY_MAX_SECONDS),
            jitter=settings.DELIVERY_RETRY_JITTER,
        )
