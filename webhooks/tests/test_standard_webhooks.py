"""Every request also carries the Standard Webhooks headers, which the official verifier (the
`standardwebhooks` package, not our code) accepts with the secret's Standard Webhooks form;
Postroom-Signature is still sent, and still verifies, beside them."""

import base64
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks import signing
from webhooks.models import EventState
from webhooks.services import (
    endpoint_create,
    endpoint_rotate_secret,
    event_retry_now,
    event_send_test,
)

pytestmark = pytest.mark.django_db


def _verifies(standard_secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(standard_secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_a_delivered_request_verifies_with_the_standard_webhooks_library(personas, receiver):
    issued = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    # The secret is itself a Standard Webhooks secret: whsec_ and the base64 of 32 bytes.
    shown = issued.standard_secret
    assert shown == issued.secret
    assert len(base64.b64decode(shown.removeprefix("whsec_"), validate=True)) == 32

    event = event_send_test(endpoint=issued.endpoint)

    assert event.state == EventState.DELIVERED
    [request] = receiver.requests
    payload = Webhook(shown).verify(request.body, request.headers)
    assert payload["events"][0]["type"] == "webhook.test"
    assert request.headers["webhook-id"] == str(event.uuid)
    assert request.headers["webhook-id"] == request.headers["Postroom-Event-Id"]
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 10
    assert request.headers["webhook-signature"].startswith("v1,")
    # The old header is still there and verifies as before, with the same timestamp.
    header = request.headers["Postroom-Signature"]
    assert signing.verify(header, request.body, issued.secret, now=int(time.time()))
    assert header.startswith(f"t={request.headers['webhook-timestamp']},v1=")
    # Another endpoint's secret does not verify.
    other = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    assert not _verifies(other.standard_secret, request.body, request.headers)


def test_a_tampered_body_timestamp_or_id_and_a_replay_fail(personas, receiver):
    issued = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    event_send_test(endpoint=issued.endpoint)
    [request] = receiver.requests
    secret, body, headers = issued.standard_secret, request.body, request.headers
    assert _verifies(secret, body, headers)

    assert not _verifies(secret, body.replace(b"webhook.test", b"webhook.tesT"), headers)
    stamp = int(headers["webhook-timestamp"])
    assert not _verifies(secret, body, {**headers, "webhook-timestamp": str(stamp - 1)})
    assert not _verifies(secret, body, {**headers, "webhook-id": headers["webhook-id"] + "0"})
    # The same request ten minutes later is refused by the timestamp check.
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert not _verifies(secret, body, headers)


def test_during_a_rotation_both_secrets_verify_and_then_only_the_new_one(personas, receiver):
    old = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    new = endpoint_rotate_secret(endpoint=old.endpoint)
    assert new.standard_secret != old.standard_secret

    event_send_test(endpoint=new.endpoint)

    [during] = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(new.standard_secret, during.body, during.headers)
    assert _verifies(old.standard_secret, during.body, during.headers)
    now = int(time.time())
    assert signing.verify(during.headers["Postroom-Signature"], during.body, old.secret, now=now)
    assert signing.verify(during.headers["Postroom-Signature"], during.body, new.secret, now=now)

    # A rotation whose overlap is over: the previous secret signs no more.
    past = timezone.now() - timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS + 1)
    newer = endpoint_rotate_secret(endpoint=new.endpoint, now=past)
    event_send_test(endpoint=newer.endpoint)
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(newer.standard_secret, after.body, after.headers)
    assert not _verifies(new.standard_secret, after.body, after.headers)


def test_the_webhook_id_is_kept_on_a_retry_and_differs_between_requests(personas, receiver):
    issued = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    receiver.statuses = [500]

    failed = event_send_test(endpoint=issued.endpoint)
    assert failed.state == EventState.PENDING
    retried = event_retry_now(event=failed)
    assert retried.state == EventState.DELIVERED
    other = event_send_test(endpoint=issued.endpoint)

    first, retry, second = receiver.requests
    assert [first.answered, retry.answered, second.answered] == [500, 200, 200]
    assert first.headers["webhook-id"] == retry.headers["webhook-id"] == str(failed.uuid)
    assert second.headers["webhook-id"] == str(other.uuid) != first.headers["webhook-id"]
    for request in (first, retry, second):
        assert _verifies(issued.standard_secret, request.body, request.headers)


def test_a_secret_made_before_the_standard_form_still_signs_both_headers(personas, receiver):
    """Secrets made before secrets took the Standard Webhooks form (whsec_ + URL-safe text)
    keep their keys: Postroom-Signature and webhook-signature both verify as they did."""
    issued = endpoint_create(workspace=personas.workspace, url=receiver.url, events=["*"])
    endpoint = issued.endpoint
    endpoint.secret = "whsec_" + "Zm9v-_bar" * 4 + "1234567"  # 43 characters, no '='
    endpoint.save(update_fields=["secret"])
    standard = signing.standard_secret(endpoint.secret)
    assert standard != endpoint.secret
    assert base64.b64decode(standard.removeprefix("whsec_")) == endpoint.secret.encode()

    event_send_test(endpoint=endpoint)

    [request] = receiver.requests
    assert _verifies(standard, request.body, request.headers)
    assert not _verifies(issued.secret, request.body, request.headers)
    header = request.headers["Postroom-Signature"]
    assert signing.verify(header, request.body, endpoint.secret, now=int(time.time()))
