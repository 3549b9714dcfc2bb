"""A recipient deleted or erased while their campaign sends gets nothing: the delivery keeps
the address it was queued with, but the person asked to be gone (or was removed), so it ends
cancelled, without a message and without an attempt."""

from __future__ import annotations

import pytest

from audience import services as audience
from campaigns.engine import outcome as rules
from campaigns.engine.step import Engine
from campaigns.models import Attempt, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("how", ["delete", "erase"])
def test_a_recipient_removed_after_the_launch_gets_no_message(personas, smtp_sink, how):
    setup = make_campaign(personas.workspace, smtp_sink, n=3)
    campaign_start(campaign=setup.campaign)
    gone, *kept = setup.recipients
    if how == "delete":
        audience.recipient_delete(recipient=gone)
    else:
        audience.recipient_erase(recipient=gone, keep_blocked=False)
    while Engine(batch_size=10).step():
        pass
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == sorted(p.email for p in kept)
    ended = Delivery.objects.get(email=gone.email)
    assert (ended.status, ended.recipient_id) == (DeliveryStatus.CANCELLED, None)
    assert ended.last_reply == "The recipient was deleted before sending."
    assert not Attempt.objects.filter(delivery=ended).exists()


def test_the_rule_ends_it_cancelled_without_an_attempt():
    out = rules.recipient_gone(7)
    assert out.status == DeliveryStatus.CANCELLED
    assert out.attempt is None
    assert not out.spend_attempt
