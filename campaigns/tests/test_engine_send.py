"""The engine end to end against the real SMTP test server: start, send, record, finish."""

import pytest

from audience.models import Suppression
from campaigns.engine.step import Engine
from campaigns.models import Attempt, CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


def run_until_idle(engine: Engine, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not engine.step():
            return


def test_a_campaign_is_sent_personalised_recorded_and_completed(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    result = campaign_start(campaign=setup.campaign)
    assert result.inserted == 5

    run_until_idle(Engine(batch_size=2))

    messages = smtp_sink.wait_for(5)
    by_rcpt = {m.rcpt_tos[0]: m for m in messages}
    assert set(by_rcpt) == {f"person{i}@example.test" for i in range(5)}
    first = by_rcpt["person0@example.test"]
    assert first.subject == "Hello Name0"
    assert "Dear Name0 of Acme" in first.text
    assert first.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert first.header("List-Unsubscribe").startswith("<https://mail.example.test/")
    delivery = Delivery.objects.get(email="person0@example.test")
    assert delivery.status == DeliveryStatus.SENT
    assert first.message_id == delivery.message_id
    assert delivery.account == setup.account
    assert Attempt.objects.filter(outcome="sent").count() == 5
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED


def test_unknown_users_end_not_found_and_are_suppressed(personas, smtp_sink):
    emails = ["ok@example.test", "nouser+1@example.test"]
    setup = make_campaign(personas.workspace, smtp_sink, emails=emails)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert Delivery.objects.get(email="nouser+1@example.test").status == DeliveryStatus.NOT_FOUND
    attempt = Attempt.objects.get(email="nouser+1@example.test")
    assert (attempt.smtp_code, attempt.enhanced_code) == (550, "5.1.1")
    assert Suppression.objects.filter(
        workspace=personas.workspace, email="nouser+1@example.test"
    ).exists()
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["ok@example.test"]]


def test_policy_refusals_fail_without_suppressing(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["policy+1@example.test"])
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert not Suppression.objects.exists()


def test_temporary_failures_are_deferred_then_retried_with_the_same_message_id(
    personas, smtp_sink, time_machine
):
    setup = make_campaign(personas.workspace, smtp_sink, emails=["later@example.test"])
    smtp_sink.set_reply("later@example.test", "451 4.3.0 Try again later", times=1)
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEFERRED
    assert delivery.attempts == 1
    first_id = delivery.message_id

    time_machine.move_to("2026-11-21 10:00:05Z", tick=False)
    run_until_idle(Engine())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 2
    assert smtp_sink.messages[0].message_id == first_id
    assert list(Attempt.objects.order_by("id").values_list("outcome", flat=True)) == [
        "temporary",
        "sent",
    ]


def test_an_address_suppressed_after_the_start_is_not_sent_to(personas, smtp_sink):
    setup = make_campaign(
        personas.workspace, smtp_sink, emails=["a@example.test", "b@example.test"]
    )
    campaign_start(campaign=setup.campaign)
    Suppression.objects.create(
        workspace=personas.workspace, email="b@example.test", reason="unsubscribed"
    )
    run_until_idle(Engine())
    assert Delivery.objects.get(email="b@example.test").status == DeliveryStatus.SUPPRESSED
    assert [m.rcpt_tos for m in smtp_sink.messages] == [["a@example.test"]]


def test_a_wrong_password_puts_the_account_in_error_and_keeps_the_attempts(personas, smtp_sink):
    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, emails=["x@example.test"], smtp_username="user",
        smtp_password="wrong",
    )  # fmt: skip
    campaign_start(campaign=setup.campaign)
    run_until_idle(Engine())
    setup.account.refresh_from_db()
    assert setup.account.status == "error"
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEFERRED
    assert delivery.attempts == 0
    assert smtp_sink.messages == []
