"""Every request is signed Stripe-style; a receiver with the secret can verify it."""

import time

import pytest

from webhooks import signing
from webhooks.models import EventState
from webhooks.services import endpoint_create, endpoint_rotate_secret, event_send_test

pytestmark = pytest.mark.django_db


def test_a_test_event_arrives_signed_with_the_secret_shown_at_creation(personas, receiver):
    issued = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    assert issued.secret.startswith("whsec_")

    event = event_send_test(endpoint=issued.endpoint)

    assert event.state == EventState.DELIVERED
    assert event.last_status_code == 200
    [request] = receiver.requests
    assert request.path == "/hooks"
    header = request.headers["Postroom-Signature"]
    assert signing.verify(header, request.body, issued.secret, now=int(time.time()))
    assert not signing.verify(header, request.body, "whsec_wrong", now=int(time.time()))
    assert not signing.verify(header, request.body + b" ", issued.secret, now=int(time.time()))
    # A replay ten minutes later is refused by the timestamp check.
    assert not signing.verify(header, request.body, issued.secret, now=int(time.time()) + 600)
    assert request.headers["Postroom-Event-Id"] == str(event.uuid)
    assert request.headers["Content-Type"] == "application/json"
    [payload_event] = request.events
    assert payload_event["type"] == "webhook.test"
    assert payload_event["workspace_id"] == personas.workspace.pk


def test_the_secret_is_stored_encrypted(personas, receiver):
    from django.db import connection

    issued = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_endpoint WHERE id = %s", [issued.endpoint.pk])
        [stored] = cursor.fetchone()
    assert issued.secret not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_after_a_rotation_both_secrets_sign_for_a_while(personas, receiver):
    old = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    new = endpoint_rotate_secret(endpoint=old.endpoint)
    assert new.secret != old.secret

    event_send_test(endpoint=new.endpoint)

    [request] = receiver.requests
    header = request.headers["Postroom-Signature"]
    now = int(time.time())
    assert signing.verify(header, request.body, new.secret, now=now)
    assert signing.verify(header, request.body, old.secret, now=now)
    assert header.count("v1=") == 2
