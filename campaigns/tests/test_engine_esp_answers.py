"""The engine end to end with an e-mail service account: the real anymail backend talks to a
loopback server replaying the service's answers (sending/tests/esp_replay), and the engine
records what those answers mean for the deliveries, the addresses and the account."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from audience.models import Suppression, SuppressionReason
from campaigns.engine import outcome as rules
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from core.testing.http import ReplayServer, Reply
from sending import reasons
from sending.models import AccountStatus
from sending.tests import esp_replay

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

NOWHERE = SimpleNamespace(host="127.0.0.1", port=2525)  # the SMTP account is replaced


@pytest.fixture
def replay_server():
    with ReplayServer() as server:
        yield server


def esp_campaign(personas, provider, server, settings, monkeypatch, emails):
    setup = make_campaign(personas.workspace, NOWHERE, emails=emails)
    account = esp_replay.point_at(provider, server, settings, monkeypatch)
    account.workspace = personas.workspace
    account.daily_limit, account.min_interval_seconds = 10_000, 0
    account.save()
    setup.campaign.accounts.set([account])
    return setup.campaign, account


def run(rounds: int = 20) -> None:
    engine = Engine()
    for _ in range(rounds):
        if not engine.step():
            return


def test_a_service_outage_spends_no_attempt_and_waits_as_long_as_it_asks(
    personas, replay_server, settings, monkeypatch
):
    emails = [f"person{i}@example.test" for i in range(3)]
    campaign, account = esp_campaign(
        personas, "sendgrid", replay_server, settings, monkeypatch, emails
    )
    replay_server.play(Reply(503, b'{"errors": [{"message": "down"}]}', (("Retry-After", "300"),)))
    before = timezone.now()
    campaign_start(campaign=campaign)
    run()
    deliveries = list(Delivery.objects.all())
    assert {d.status for d in deliveries} == {DeliveryStatus.DEFERRED}
    assert {d.attempts for d in deliveries} == {0}
    for delivery in deliveries:
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at >= before + timedelta(seconds=300)
        assert delivery.next_attempt_at <= timezone.now() + rules.RETRY_AFTER_MAX
    # One request: the account backed off at the first answer, for the whole batch.
    assert len(replay_server.requests) == 1
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_rate_limited_without_retry_after_waits_the_accounts_backoff(
    personas, replay_server, settings, monkeypatch
):
    campaign, _ = esp_campaign(
        personas, "mailgun", replay_server, settings, monkeypatch, ["one@example.test"]
    )
    replay_server.play(esp_replay.recorded("mailgun", "rate_limited"))
    before = timezone.now()
    campaign_start(campaign=campaign)
    run()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEFERRED, 0)
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at >= before + rules.ACCOUNT_BACKOFF


def test_an_invalid_recipient_is_not_found_and_suppressed_as_a_bounce(
    personas, replay_server, settings, monkeypatch
):
    campaign, _ = esp_campaign(
        personas, "postmark", replay_server, settings, monkeypatch, ["reader@example.test"]
    )
    replay_server.play(esp_replay.recorded("postmark", "invalid_recipient"))
    campaign_start(campaign=campaign)
    run()
    assert Delivery.objects.get().status == DeliveryStatus.NOT_FOUND
    suppression = Suppression.objects.get(workspace=personas.workspace)
    assert suppression.email == "reader@example.test"
    assert suppression.reason == SuppressionReason.BOUNCED


def test_an_address_on_the_services_suppression_list_ends_suppressed(
    personas, replay_server, settings, monkeypatch
):
    campaign, _ = esp_campaign(
        personas, "postmark", replay_server, settings, monkeypatch, ["reader@example.test"]
    )
    replay_server.play(esp_replay.recorded("postmark", "policy"))  # 406 inactive recipient
    campaign_start(campaign=campaign)
    run()
    assert Delivery.objects.get().status == DeliveryStatus.SUPPRESSED
    attempt = Attempt.objects.get()
    assert attempt.outcome == "suppressed"
    assert "suppression list" in attempt.reply
    # The service's reason (bounce, complaint, its user's choice) is not known: the
    # workspace's own list is left to its events and its people.
    assert not Suppression.objects.exists()


def test_a_refused_from_address_puts_the_account_in_error_saying_what_to_fix(
    personas, replay_server, settings, monkeypatch
):
    campaign, account = esp_campaign(
        personas, "sendgrid", replay_server, settings, monkeypatch, ["reader@example.test"]
    )
    replay_server.play(esp_replay.recorded("sendgrid", "sender_refused"))
    campaign_start(campaign=campaign)
    run()
    account.refresh_from_db()
    assert account.status == AccountStatus.ERROR
    assert account.status_reason.startswith(reasons.SENDER_REFUSED)
    assert "verified Sender Identity" in account.status_reason
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEFERRED, 0)
