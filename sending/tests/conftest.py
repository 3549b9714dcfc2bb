from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.testing.smtp import SmtpSink


@pytest.fixture(autouse=True)
def _sending_settings(settings):
    settings.SENDING_HELO_NAME = "client.postroom.test"
    settings.SENDING_TIMEOUT = 5
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    settings.SENDING_EXTRA_CA_FILE = ""


@pytest.fixture
def starttls_sink() -> Iterator[SmtpSink]:
    with SmtpSink(tls="starttls") as sink:
        yield sink


@pytest.fixture
def implicit_tls_sink() -> Iterator[SmtpSink]:
    with SmtpSink(tls="implicit") as sink:
        yield sink
