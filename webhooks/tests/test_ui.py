"""Settings → Webhooks, for owners: add (secret shown once), test, rotate, turn off, retry."""

import pytest
from django.urls import reverse

from webhooks import signing
from webhooks.models import Endpoint, Event, EventState
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_an_owner_adds_an_endpoint_and_sees_the_secret_once(owner_client, receiver):
    assert (
        'href="/settings/webhooks/"'
        in owner_client.get(reverse("accounts:settings")).content.decode()
    )
    response = owner_client.post(
        reverse("webhooks:index"),
        {
            "url": receiver.url,
            "description": "CRM",
            "events": ["delivery.sent", "campaign.status_changed"],
        },
    )
    assert response.status_code == 201
    endpoint = Endpoint.objects.get()
    page = response.content.decode()
    assert endpoint.secret in page
    # One string for both schemes: it is already in the form Standard Webhooks verifiers take.
    assert signing.standard_secret(endpoint.secret) == endpoint.secret
    assert "new-webhook-standard-secret" not in page
    assert endpoint.events == ["campaign.status_changed", "delivery.sent"]
    listing = owner_client.get(reverse("webhooks:index")).content.decode()
    assert receiver.url in listing
    assert endpoint.secret not in listing
    assert "webhook-signature" in listing
    detail = owner_client.get(reverse("webhooks:endpoint", kwargs={"endpoint_id": endpoint.pk}))
    assert endpoint.secret not in detail.content.decode()


def test_a_private_url_is_refused_with_the_reason(owner_client, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    response = owner_client.post(
        reverse("webhooks:index"), {"url": "http://10.0.0.1/hook", "events": ["*"]}
    )
    assert response.status_code == 400
    assert "Private address refused" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_test_rotate_turn_off_and_delete(owner_client, personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    kwargs = {"endpoint_id": endpoint.pk}

    response = owner_client.post(reverse("webhooks:test", kwargs=kwargs), follow=True)
    assert "The test was delivered (HTTP 200)" in response.content.decode()
    assert len(receiver.requests) == 1
    assert "webhook.test" in response.content.decode()

    rotated = owner_client.post(reverse("webhooks:rotate", kwargs=kwargs))
    endpoint.refresh_from_db()
    assert endpoint.secret in rotated.content.decode()
    assert signing.standard_secret(endpoint.secret) in rotated.content.decode()

    owner_client.post(reverse("webhooks:active", kwargs=kwargs), {"active": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.active
    page = owner_client.get(reverse("webhooks:endpoint", kwargs=kwargs)).content.decode()
    assert "Disabled by a user." in page

    owner_client.post(reverse("webhooks:delete", kwargs=kwargs), {"confirmed": "yes"})
    assert not Endpoint.objects.exists()


def test_a_failed_request_shows_its_code_and_is_retried_now(owner_client, personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    receiver.statuses = [500]
    owner_client.post(reverse("webhooks:test", kwargs={"endpoint_id": endpoint.pk}))
    event = Event.objects.get()
    page = owner_client.get(reverse("webhooks:endpoint", kwargs={"endpoint_id": endpoint.pk}))
    assert "HTTP 500" in page.content.decode()
    assert "Retry now" in page.content.decode()

    response = owner_client.post(
        reverse("webhooks:retry", kwargs={"event_id": event.pk}), follow=True
    )
    assert "The retry was delivered" in response.content.decode()
    event.refresh_from_db()
    assert event.state == EventState.DELIVERED


def test_an_edit_keeps_the_rules(owner_client, personas, receiver, settings):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    url = reverse("webhooks:endpoint", kwargs={"endpoint_id": endpoint.pk})
    response = owner_client.post(
        url, {"url": receiver.url, "description": "New", "events": ["delivery.failed"]}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.events) == ("New", ["delivery.failed"])
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    refused = owner_client.post(url, {"url": "http://127.0.0.1/", "events": ["*"]})
    assert refused.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_see_or_change_webhooks(personas, receiver, role):
    from conftest import client_for

    endpoint = make_endpoint(personas.workspace, receiver.url)
    client = client_for(getattr(personas, role))
    kwargs = {"endpoint_id": endpoint.pk}
    assert client.get(reverse("webhooks:index")).status_code == 403
    assert client.get(reverse("webhooks:endpoint", kwargs=kwargs)).status_code == 403
    for name in ("test", "rotate", "active", "delete"):
        assert client.post(reverse(f"webhooks:{name}", kwargs=kwargs)).status_code == 403
    assert receiver.requests == []
    assert Endpoint.objects.filter(pk=endpoint.pk, active=True).exists()
