"""E-mail services' events webhooks, end to end through HTTP: each service's documented payloads
(tracking/tests/esp/<service>/*.json), signed in the test with test keys the way the service
signs them, posted to the account's URL and recorded as events.

Amazon SES comes through SNS: its messages are signed with a certificate made here and served
by a local HTTP server that settings.TRACKING_SNS_URL_RE allows, in place of sns.amazonaws.com.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from django.utils import timezone

from audience.models import Recipient, Suppression
from campaigns import links
from campaigns.models import Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending.models import AccountKind, EspProvider, SendingAccount
from tracking.esp import services, sns
from tracking.models import Event

FIXTURES = Path(__file__).parent / "esp"
SERVICES = [p.value for p in EspProvider]
MAILGUN_KEY = "key-test-mailgun-signing"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
EXPECTED: dict[str, dict[str, Any]] = {
    "delivered": {"kind": "delivered"},
    "hard_bounce": {"kind": "bounced", "bounce_type": "hard", "status_code": "5.1.1"},
    "soft_bounce": {"kind": "bounced", "bounce_type": "soft", "status_code": "4.2.2"},
    "complaint": {"kind": "complained"},
    "open": {"kind": "opened"},
    "click": {"kind": "clicked", "url": "https://example.com/spring?x=1"},
    "unsubscribe": {"kind": "unsubscribed"},
}
CASES = [
    (service, case)
    for service in SERVICES
    for case in EXPECTED
    if (FIXTURES / service / f"{case}.json").exists()
]


# --- the SNS side: a certificate and the server that hands it out ----------------------------


@dataclass
class SnsServer:
    port: int
    key: rsa.RSAPrivateKey
    hits: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def sns_server() -> Iterator[SnsServer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = _certificate(key)
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SnsServer(port=server.server_address[1], key=key, hits=hits)
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _sns_here(settings, sns_server):
    settings.TRACKING_SNS_URL_RE = rf"^http://127\.0\.0\.1:{sns_server.port}/"


def sns_message(server: SnsServer, message: str, *, kind: str = "Notification") -> dict[str, Any]:
    """An SNS post as SNS signs it (SignatureVersion 1: SHA1 with RSA)."""
    sent: dict[str, Any] = {
        "Type": kind,
        "MessageId": str(uuid.uuid5(uuid.NAMESPACE_URL, message)),
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": "2026-12-01T10:00:05.000Z",
        "SignatureVersion": "1",
        "SigningCertURL": f"{server.base}/SimpleNotificationService-test.pem",
    }
    if kind == "Notification":
        sent["Subject"] = "Amazon SES Email Event Notification"
        sent["UnsubscribeURL"] = f"{server.base}/?Action=Unsubscribe"
    else:
        sent["Token"] = "2336412f37fb687f5d51e6e2425c464d"
        sent["SubscribeURL"] = f"{server.base}/?Action=ConfirmSubscription&Token=2336"
    signature = server.key.sign(sns.string_to_sign(sent), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    sent["Signature"] = base64.b64encode(signature).decode()
    return sent


# --- the workspace: an e-mail service account and a delivery sent through it ----------------


@dataclass
class Setup:
    account: SendingAccount
    delivery: Delivery
    sendgrid_key: ec.EllipticCurvePrivateKey | None = None


def make_setup(workspace: Any, service: str, email: str = "ann@example.test") -> Setup:
    made = make_campaign(workspace, SimpleNamespace(host="127.0.0.1", port=25), emails=[email])
    campaign_start(campaign=made.campaign)
    account = SendingAccount.objects.create(
        workspace=workspace,
        name=f"{service} account",
        from_email="news@example.com",
        kind=AccountKind.ESP,
        esp_provider=service,
        esp_api_key="api-key",
        status="active",
    )
    services.webhook_token_rotate(account=account)
    setup = Setup(account=account, delivery=Delivery.objects.get(campaign=made.campaign))
    if service == EspProvider.MAILGUN:
        services.webhook_key_set(account=account, key=MAILGUN_KEY)
    if service == EspProvider.SENDGRID:
        setup.sendgrid_key = ec.generate_private_key(ec.SECP256R1())
        public = setup.sendgrid_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        services.webhook_key_set(account=account, key=base64.b64encode(public).decode())
    delivery = setup.delivery
    delivery.status = DeliveryStatus.SENT
    delivery.account = account
    delivery.message_id = links.message_id_for(delivery.pk, delivery.campaign_id, "example.com")
    delivery.sent_at = timezone.now()
    delivery.save()
    return setup


def payload(service: str, case: str, delivery: Delivery, *, metadata: bool = True) -> str:
    text = (FIXTURES / service / f"{case}.json").read_text()
    text = text.replace("__RECIPIENT__", delivery.email)
    return text.replace("__MESSAGE_ID__", delivery.message_id if metadata else "<unknown@x>")


def post(
    client: Client,
    setup: Setup,
    body: str,
    sns_server: SnsServer,
    *,
    url: str | None = None,
    forged: bool = False,
) -> Any:
    """Post `body` to the account's webhook as its service would, signed (or `forged`)."""
    service = setup.account.esp_provider
    url = url or setup.account.esp_webhook_path
    headers: dict[str, str] = {}
    if service == EspProvider.AMAZON_SES:
        sent = sns_message(sns_server, body)
        if forged:
            sent["Message"] = sent["Message"].replace("Transient", "Permanent") + " "
        headers = {
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": sent["MessageId"],
        }
        body = json.dumps(sent)
    elif service == EspProvider.MAILGUN:
        token = hashlib.sha256(body.encode()).hexdigest()[:50]
        stamp = "1764583200"
        key = b"wrong-key" if forged else MAILGUN_KEY.encode()
        digest = hmac.new(key, f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
        body = body.replace("__TIMESTAMP__", stamp).replace("__TOKEN__", token)
        body = body.replace("__SIGNATURE__", digest)
    elif service == EspProvider.SENDGRID:
        assert setup.sendgrid_key is not None
        stamp = "1764583200"
        signed = (stamp + body + (" " if forged else "")).encode()
        signature = setup.sendgrid_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        headers = {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
    return client.post(url, body, content_type="application/json", headers=headers)


@pytest.fixture(params=SERVICES)
def setup(request, personas) -> Setup:
    return make_setup(personas.workspace, request.param)


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "case"), CASES)
def test_each_service_event_becomes_one_event_of_its_delivery(
    service, case, personas, sns_server, client
):
    setup = make_setup(personas.workspace, service)
    response = post(client, setup, payload(service, case, setup.delivery), sns_server)
    assert response.status_code == 200, response.content
    event = Event.objects.get()
    expected = {
        "bounce_type": "",
        "status_code": "",
        "url": "",
        **EXPECTED[case],
    }
    assert {k: getattr(event, k) for k in expected} == expected
    assert (event.workspace_id, event.campaign_id, event.delivery_id) == (
        setup.delivery.workspace_id,
        setup.delivery.campaign_id,
        setup.delivery.pk,
    )
    assert (event.source, event.source_detail, event.email) == ("esp", service, "ann@example.test")
    assert event.dedupe_key.startswith(f"esp:{service}:")


def test_a_replayed_event_changes_nothing(setup, sns_server, client):
    service = setup.account.esp_provider
    body = payload(service, "hard_bounce", setup.delivery)
    first = post(client, setup, body, sns_server)
    again = post(client, setup, body, sns_server)
    assert (first.status_code, again.status_code) == (200, 200)
    assert Event.objects.count() == 1
    # A different event of the same message is a new fact.
    post(client, setup, payload(service, "open", setup.delivery), sns_server)
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    "service", [EspProvider.AMAZON_SES, EspProvider.MAILGUN, EspProvider.SENDGRID]
)
def test_a_bad_signature_is_refused_and_records_nothing(service, personas, sns_server, client):
    setup = make_setup(personas.workspace, service)
    body = payload(service, "soft_bounce", setup.delivery)
    response = post(client, setup, body, sns_server, forged=True)
    assert response.status_code == 403
    assert not Event.objects.exists()


def test_a_wrong_secret_is_refused_and_records_nothing(setup, sns_server, client):
    account = setup.account
    wrong = account.esp_webhook_path.replace(account.esp_webhook_token, "x" * 43)
    body = payload(account.esp_provider, "complaint", setup.delivery)
    response = post(client, setup, body, sns_server, url=wrong)
    assert response.status_code == 404
    assert not Event.objects.exists()


def test_another_workspaces_secret_opens_nothing_here(setup, personas, sns_server, client):
    """Workspace B's secret with A's account id is refused; B's own URL, given an event that
    names A's delivery, records it in B only and never touches A's delivery."""
    service = setup.account.esp_provider
    theirs = make_setup(personas.other_workspace, service, email="bob@example.test")
    mixed = setup.account.esp_webhook_path.replace(
        setup.account.esp_webhook_token, theirs.account.esp_webhook_token
    )
    body = payload(service, "hard_bounce", setup.delivery)
    assert post(client, setup, body, sns_server, url=mixed).status_code == 404
    assert not Event.objects.exists()

    theirs_signed_as_theirs = Setup(theirs.account, setup.delivery, theirs.sendgrid_key)
    response = post(client, theirs_signed_as_theirs, body, sns_server)
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.workspace_id == personas.other_workspace.pk
    assert event.delivery_id is None
    assert event.email == "ann@example.test"


def test_a_rotated_secret_stops_the_old_url(setup, sns_server, client):
    old = setup.account.esp_webhook_path
    services.webhook_token_rotate(account=setup.account)
    body = payload(setup.account.esp_provider, "delivered", setup.delivery)
    assert post(client, setup, body, sns_server, url=old).status_code == 404
    assert post(client, setup, body, sns_server).status_code == 200
    assert Event.objects.count() == 1


def test_without_our_message_id_the_recipients_latest_delivery_is_found(setup, sns_server, client):
    service = setup.account.esp_provider
    body = payload(service, "complaint", setup.delivery, metadata=False)
    assert post(client, setup, body, sns_server).status_code == 200
    assert Event.objects.get().delivery_id == setup.delivery.pk


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_bounce_in_another_case_suppresses_the_person(
    service, personas, sns_server, client
):
    setup = make_setup(personas.workspace, service)
    # Too old to be matched: the event is about the address alone.
    Delivery.objects.filter(pk=setup.delivery.pk).update(
        sent_at=timezone.now() - dt.timedelta(days=90)
    )
    body = payload(service, "hard_bounce", setup.delivery, metadata=False)

    response = post(
        client, setup, body.replace(setup.delivery.email, "ANN@Example.TEST"), sns_server
    )

    assert response.status_code == 200, response.content
    event = Event.objects.get()
    assert (event.delivery_id, event.email) == (None, "ann@example.test")
    assert list(Suppression.objects.values_list("email", flat=True)) == ["ann@example.test"]
    assert Recipient.objects.get(workspace=personas.workspace).status == "bounced"


def test_a_delay_records_nothing(personas, sns_server, client):
    setup = make_setup(personas.workspace, EspProvider.POSTMARK)
    body = payload("postmark", "soft_bounce", setup.delivery).replace('"SoftBounce"', '"Transient"')
    assert post(client, setup, body, sns_server).status_code == 200
    assert not Event.objects.exists()


def test_an_unreadable_payload_is_refused(personas, sns_server, client):
    setup = make_setup(personas.workspace, EspProvider.BREVO)
    response = client.post(
        setup.account.esp_webhook_path, "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert not Event.objects.exists()


def test_an_sns_subscription_is_confirmed_once_its_signature_holds(personas, sns_server, client):
    setup = make_setup(personas.workspace, EspProvider.AMAZON_SES)
    sent = sns_message(sns_server, "You have chosen to subscribe.", kind="SubscriptionConfirmation")
    headers = {
        "x-amz-sns-message-type": "SubscriptionConfirmation",
        "x-amz-sns-message-id": sent["MessageId"],
    }
    before = len(sns_server.hits)
    forged = {**sent, "SubscribeURL": sent["SubscribeURL"] + "&forged=1"}
    refused = client.post(
        setup.account.esp_webhook_path,
        json.dumps(forged),
        content_type="text/plain",
        headers=headers,
    )
    assert refused.status_code == 403
    assert not any("forged" in hit for hit in sns_server.hits[before:])
    response = client.post(
        setup.account.esp_webhook_path, json.dumps(sent), content_type="text/plain", headers=headers
    )
    assert response.status_code == 200
    assert any("ConfirmSubscription" in hit for hit in sns_server.hits[before:])


def test_a_certificate_from_anywhere_else_is_refused(settings, personas, sns_server, client):
    settings.TRACKING_SNS_URL_RE = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
    setup = make_setup(personas.workspace, EspProvider.AMAZON_SES)
    body = payload("amazon_ses", "delivered", setup.delivery)
    assert post(client, setup, body, sns_server).status_code == 403
    assert not Event.objects.exists()
