from __future__ import annotations

import pytest

from webhooks.tests.receiver import start_receiver


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _notification_settings(settings):
    """Loopback receivers and mail; a row is settled at once (SQLite commits in order)."""
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SITE_URL = "https://mail.example.test"
    settings.WEBHOOK_SETTLE_SECONDS = 0
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_RETRY_JITTER = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
