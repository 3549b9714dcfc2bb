"""What a server said is stored as it said it: the batch's rows travel to the database as one
JSON document (PostgreSQL) or as parameters (SQLite), and neither may bend a value."""

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.engine.claim import claim_batch
from campaigns.engine.outcome import Outcome
from campaigns.engine.record import write_outcomes
from campaigns.models import Attempt, AttemptOutcome, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db

REPLIES = [
    '250 2.0.0 Ok: "queued" as {"a": [1, 2]} \\ back\\slash',
    "451 4.7.1 Грейлистинг: попробуйте позже 🙂\nsecond line",
    "250 ok\x00 with a NUL",  # no PostgreSQL text holds one: the rest of the reply stays
]
ENHANCED = ["2.0.0", "4.7.1", ""]


def test_replies_codes_and_times_are_stored_as_they_came(personas, smtp_sink, time_machine):
    time_machine.move_to("2026-11-21 10:00:00.123456Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    now = datetime.now(tz=UTC)
    batch = claim_batch(worker="w", limit=3, now=now, lease=timedelta(seconds=30))
    later = now + timedelta(minutes=7, microseconds=89)
    outcomes = [
        Outcome(
            delivery_id=delivery.pk,
            status=DeliveryStatus.DEFERRED if i == 1 else DeliveryStatus.SENT,
            next_attempt_at=later if i == 1 else None,
            attempt=AttemptOutcome.TEMPORARY if i == 1 else AttemptOutcome.SENT,
            spend_attempt=True,
            account_id=setup.account.pk,
            code=int(REPLIES[i][:3]),
            enhanced=ENHANCED[i],
            reply=REPLIES[i],
            message_id=f"<{delivery.pk}.'x\"@example.test>",
        )
        for i, delivery in enumerate(batch)
    ]
    assert write_outcomes(worker="w", deliveries=batch, outcomes=outcomes, now=now) == 3

    for i, delivery in enumerate(batch):
        stored = Delivery.objects.get(pk=delivery.pk)
        attempt = Attempt.objects.get(delivery_id=delivery.pk)
        reply = REPLIES[i].replace("\x00", "")
        assert (stored.last_reply, attempt.reply) == (reply, reply)
        assert stored.last_code == attempt.smtp_code == int(REPLIES[i][:3])
        assert stored.last_enhanced_code == attempt.enhanced_code == ENHANCED[i]
        assert stored.message_id == attempt.message_id == outcomes[i].message_id
        assert stored.account_id == attempt.account_id == setup.account.pk
        assert (stored.attempts, stored.lease_owner, stored.lease_expires_at) == (1, "", None)
    deferred = Delivery.objects.get(pk=batch[1].pk)
    assert deferred.status == DeliveryStatus.DEFERRED
    assert deferred.next_attempt_at == later
    assert deferred.sent_at is None
    assert Delivery.objects.get(pk=batch[0].pk).sent_at == now


def test_outcomes_of_deliveries_leased_to_another_are_not_written(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=2)
    campaign_start(campaign=setup.campaign)
    now = datetime.now(tz=UTC)
    batch = claim_batch(worker="mine", limit=2, now=now, lease=timedelta(seconds=30))
    Delivery.objects.filter(pk=batch[0].pk).update(lease_owner="theirs")
    sent = [
        Outcome(d.pk, DeliveryStatus.SENT, attempt=AttemptOutcome.SENT, spend_attempt=True)
        for d in batch
    ]
    assert write_outcomes(worker="mine", deliveries=batch, outcomes=sent, now=now) == 1
    assert Delivery.objects.get(pk=batch[0].pk).status == DeliveryStatus.SENDING
    assert list(Attempt.objects.values_list("delivery_id", flat=True)) == [batch[1].pk]
