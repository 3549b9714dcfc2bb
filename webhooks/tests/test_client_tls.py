"""Webhooks over HTTPS verify the receiver's certificate and name, and leave the TLS context
they share with SMTP, mailbox polling and OAuth as they found it.

urllib3 turns `check_hostname` off on the context it is given when it is asked to match the
host name itself (`assert_hostname`). The context is shared (`sending.network.tls_context`),
so after the first HTTPS webhook of a process, SMTP's STARTTLS stopped checking server names.
"""

from __future__ import annotations

import pytest

from core.testing.smtp import default_test_cert
from sending.network import tls_context
from webhooks.client import post
from webhooks.tests.receiver import start_receiver


@pytest.fixture
def tls_receiver(settings):
    settings.SENDING_EXTRA_CA_FILE = str(default_test_cert()[0])
    running = start_receiver(tls=True)
    yield running
    running.close()


def test_an_https_webhook_arrives_and_the_shared_context_still_checks_names(tls_receiver):
    shared = tls_context()
    result = post(tls_receiver.url, b'{"events": []}', {})
    assert result.ok, result.error
    assert tls_receiver.requests[0].headers["Host"].startswith("localhost")
    assert shared.check_hostname  # still on for the next SMTP, IMAP or OAuth connection
    assert tls_context() is shared


def test_a_shared_context_weakened_by_a_library_is_made_anew(settings, caplog):
    settings.SENDING_EXTRA_CA_FILE = str(default_test_cert()[0])
    shared = tls_context()
    shared.check_hostname = False  # what urllib3 does with assert_hostname
    fresh = tls_context()
    assert fresh is not shared
    assert fresh.check_hostname
    assert "made anew" in caplog.text


def test_an_untrusted_certificate_is_refused(tls_receiver, settings):
    settings.SENDING_EXTRA_CA_FILE = ""
    result = post(tls_receiver.url, b'{"events": []}', {})
    assert not result.ok
    assert tls_receiver.requests == []
