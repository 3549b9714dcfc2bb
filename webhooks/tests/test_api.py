"""/api/webhooks/: owners manage endpoints; the secret is shown at creation and rotation."""

import time

import pytest
from standardwebhooks import Webhook

from webhooks import signing
from webhooks.models import Endpoint, Event, EventState
from webhooks.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_an_owner_creates_an_endpoint_and_sees_its_secret_once(api_for, receiver):
    api = api_for("owner")
    response = api.post(
        "/api/webhooks/",
        {"url": receiver.url, "events": ["delivery.sent", "campaign.status_changed"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["standard_webhooks_secret"] == signing.standard_secret(body["secret"])
    assert body["events"] == ["campaign.status_changed", "delivery.sent"]
    assert body["active"] is True

    shown = api.get(f"/api/webhooks/{body['id']}/").json()
    assert "secret" not in shown
    assert "standard_webhooks_secret" not in shown
    listed = str(api.get("/api/webhooks/").json())
    assert body["secret"] not in listed
    assert body["standard_webhooks_secret"] not in listed

    tested = api.post(f"/api/webhooks/{body['id']}/test/").json()
    assert tested["state"] == "delivered"
    assert tested["last_status_code"] == 200
    [request] = receiver.requests
    assert signing.verify(
        request.headers["Postroom-Signature"], request.body, body["secret"], now=int(time.time())
    )
    Webhook(body["standard_webhooks_secret"]).verify(request.body, request.headers)


def test_rotation_returns_a_new_secret_that_signs(api_for, personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    api = api_for("owner")
    rotated = api.post(f"/api/webhooks/{endpoint.pk}/rotate-secret/").json()
    assert rotated["secret"] != endpoint.secret
    assert rotated["previous_secret_expires_at"]
    api.post(f"/api/webhooks/{endpoint.pk}/test/")
    [request] = receiver.requests
    header = request.headers["Postroom-Signature"]
    assert signing.verify(header, request.body, rotated["secret"], now=int(time.time()))
    Webhook(rotated["standard_webhooks_secret"]).verify(request.body, request.headers)


def test_update_disable_and_delete(api_for, personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    api = api_for("owner")
    changed = api.patch(
        f"/api/webhooks/{endpoint.pk}/",
        {"active": False, "description": "CRM", "events": ["*"]},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["active"] is False
    assert changed.json()["disabled_reason"] == "Disabled by a user."
    assert api.delete(f"/api/webhooks/{endpoint.pk}/").status_code == 204
    assert not Endpoint.objects.exists()


def test_a_private_url_is_a_400_with_the_reason(api_for, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    response = api_for("owner").post(
        "/api/webhooks/", {"url": "http://169.254.169.254/", "events": ["*"]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"]["url"][0]["message"].startswith("Private address refused")


def test_unknown_event_types_are_a_400(api_for, receiver):
    response = api_for("owner").post(
        "/api/webhooks/", {"url": receiver.url, "events": ["nope"]}, format="json"
    )
    assert response.status_code == 400
    assert "events" in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_write(api_for, personas, receiver, role):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    event = Event.objects.create(
        workspace=personas.workspace, endpoint=endpoint, event_type="webhook.test", payload={}
    )
    api = api_for(role)
    writes = [
        api.post("/api/webhooks/", {"url": receiver.url, "events": ["*"]}, format="json"),
        api.patch(f"/api/webhooks/{endpoint.pk}/", {"active": False}, format="json"),
        api.delete(f"/api/webhooks/{endpoint.pk}/"),
        api.post(f"/api/webhooks/{endpoint.pk}/rotate-secret/"),
        api.post(f"/api/webhooks/{endpoint.pk}/test/"),
        api.post(f"/api/webhooks/{endpoint.pk}/deliveries/{event.pk}/retry/"),
    ]
    assert [r.status_code for r in writes] == [403] * 6
    assert receiver.requests == []
    assert Endpoint.objects.get().active


def test_deliveries_list_with_state_filter_and_retry(api_for, personas, receiver):
    endpoint = make_endpoint(personas.workspace, receiver.url)
    api = api_for("owner")
    receiver.statuses = [500]
    api.post(f"/api/webhooks/{endpoint.pk}/test/")
    api.post(f"/api/webhooks/{endpoint.pk}/test/")  # the endpoint is backing off, still tried

    listed = api.get(f"/api/webhooks/{endpoint.pk}/deliveries/").json()
    assert [d["state"] for d in listed["results"]] == ["delivered", "pending"]
    pending = api.get(f"/api/webhooks/{endpoint.pk}/deliveries/?state=pending").json()["results"]
    assert len(pending) == 1
    assert pending[0]["last_status_code"] == 500
    assert pending[0]["payload"]["events"][0]["type"] == "webhook.test"
    bad = api.get(f"/api/webhooks/{endpoint.pk}/deliveries/?state=lost")
    assert bad.status_code == 400

    retried = api.post(f"/api/webhooks/{endpoint.pk}/deliveries/{pending[0]['id']}/retry/")
    assert retried.json()["state"] == "delivered"
    assert Event.objects.filter(state=EventState.DELIVERED).count() == 2


def test_another_endpoints_delivery_is_404_under_this_one(api_for, personas, receiver):
    first = make_endpoint(personas.workspace, receiver.url)
    second = make_endpoint(personas.workspace, receiver.url)
    event = Event.objects.create(
        workspace=personas.workspace, endpoint=second, event_type="webhook.test", payload={}
    )
    api = api_for("owner")
    assert api.get(f"/api/webhooks/{second.pk}/deliveries/").status_code == 200
    assert api.get(f"/api/webhooks/{first.pk}/deliveries/{event.pk}/").status_code == 404
    assert api.get(f"/api/webhooks/{second.pk}/deliveries/{event.pk}/").status_code == 200


def test_event_types_are_listed(api_for):
    rows = api_for("viewer").get("/api/webhooks/event-types/").json()
    types = {r["type"] for r in rows}
    assert {"campaign.status_changed", "delivery.sent", "recipient.unsubscribed"} <= types
