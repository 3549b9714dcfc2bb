from __future__ import annotations

import pytest

from webhooks.tests.receiver import start_receiver


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    """The receiver is on loopback; retries and the engine's waits are seconds, not hours."""
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SITE_URL = "https://mail.example.test"
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    settings.WEBHOOK_RETRY_MAX_SECONDS = 2
    settings.WEBHOOK_RETRY_JITTER = 0
    settings.WEBHOOK_SETTLE_SECONDS = 0
