"""Endpoint URLs obey the sending accounts' address rules, at save time and at send time."""

import pytest
from django.core.exceptions import ValidationError

from webhooks.models import EventState
from webhooks.services import endpoint_create, endpoint_update, event_send_test
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "https://192.168.1.20/hooks",
    ],
)
def test_private_addresses_are_refused_when_not_allowed(personas, settings, url):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationError) as caught:
        endpoint_create(workspace=personas.workspace, url=url, events=["*"])
    message = caught.value.message_dict["url"][0]
    assert message.startswith("Private address refused"), message
    assert message.endswith("is not allowed."), message
    if "localhost" in url:  # a name: what it resolves to is not told
        assert "127.0.0.1" not in message
        assert "::1" not in message


def test_plain_http_needs_private_hosts_allowed(personas, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationError) as caught:
        endpoint_create(workspace=personas.workspace, url="http://93.184.216.34/", events=["*"])
    assert "https://" in caught.value.message_dict["url"][0]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.test/", "https://"),
        ("https://user:pw@93.184.216.34/", "no user name or password"),
        ("https://93.184.216.34:99999/", "port"),
    ],
)
def test_malformed_urls_are_refused(personas, url, words):
    with pytest.raises(ValidationError) as caught:
        endpoint_create(workspace=personas.workspace, url=url, events=["*"])
    assert words in caught.value.message_dict["url"][0]


def test_the_rules_are_checked_again_at_send_time(personas, receiver, settings):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False

    event = event_send_test(endpoint=endpoint)

    assert receiver.requests == []
    assert event.state == EventState.PENDING
    assert event.last_error.startswith("Private address refused")


def test_unknown_event_types_are_refused(personas, receiver):
    with pytest.raises(ValidationError) as caught:
        endpoint_create(workspace=personas.workspace, url=receiver.url, events=["delivery.lost"])
    assert "delivery.lost" in caught.value.message_dict["events"][0]
    endpoint = make_endpoint(personas.workspace, receiver.url)
    with pytest.raises(ValidationError):
        endpoint_update(endpoint=endpoint, events=[])


def test_redirects_are_not_followed(personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    receiver.statuses = [302]
    event = event_send_test(endpoint=endpoint)
    assert event.state == EventState.PENDING
    assert event.last_error == "HTTP 302 (redirects are not followed)"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://93.184.216.34/", True),
        ("https://93.184.216.34:443/", True),
        ("https://93.184.216.34:6379/", False),
        ("https://93.184.216.34:8443/", False),
    ],
)
def test_only_web_ports_are_allowed_unless_configured(personas, settings, url, allowed):
    from webhooks.targets import UrlRefused, check

    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    if allowed:
        assert check(url) == ["93.184.216.34"]
    else:
        with pytest.raises(UrlRefused, match="is not allowed: use one of 80, 443"):
            check(url)
    settings.WEBHOOK_PORTS = [8443]
    assert check("https://93.184.216.34:8443/") == ["93.184.216.34"]
