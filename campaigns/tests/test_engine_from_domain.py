"""Once a delivery has been tried, its From domain and its Message-ID stay: it moves only to
accounts of the same domain, or waits (a 535 on one account, an ambiguous retry)."""

from datetime import timedelta

import pytest

from campaigns.engine.step import Engine
from campaigns.models import Attempt, AttemptOutcome, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending.models import AccountStatus
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def another_account(setup, sink, from_email: str, **fields):
    account = SendingAccountFactory.create(
        workspace=setup.campaign.workspace,
        smtp_host=sink.host,
        smtp_port=sink.port,
        daily_limit=10_000,
        min_interval_seconds=0,
        from_email=from_email,
        **fields,
    )
    setup.campaign.accounts.add(account)
    return account


def drive(engine: Engine, time_machine, rounds: int = 12) -> None:
    for _ in range(rounds):
        engine.step()
        time_machine.shift(timedelta(seconds=61))


def domain(address: str) -> str:
    return address.rpartition("@")[2].rstrip(">")


@pytest.mark.parametrize("same_domain_account", [False, True])
def test_after_a_refused_password_deliveries_move_only_within_their_from_domain(
    personas, smtp_sink, time_machine, same_domain_account
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    smtp_sink.require_auth("user", "right")
    setup = make_campaign(
        personas.workspace, smtp_sink, n=40, from_email="news@one.test",
        smtp_username="user", smtp_password="wrong",
    )  # fmt: skip
    another_account(setup, smtp_sink, "news@two.test", smtp_username="user", smtp_password="right")
    if same_domain_account:
        another_account(
            setup, smtp_sink, "mail@one.test", smtp_username="user", smtp_password="right"
        )
    campaign_start(campaign=setup.campaign)
    drive(Engine(batch_size=40), time_machine)
    setup.account.refresh_from_db()
    assert setup.account.status == AccountStatus.ERROR
    refused = Delivery.objects.filter(message_id__contains="@one.test")
    assert refused.exists()  # the deliveries the 535 account had: fixed to one.test
    first = Attempt.objects.get(outcome=AttemptOutcome.AUTH).delivery
    assert first in refused
    by_rcpt = {m.rcpt_tos[0]: m for m in smtp_sink.messages}
    for delivery in refused:
        message = by_rcpt.get(delivery.email)
        if same_domain_account:  # moved, within the domain, with the same Message-ID
            assert message is not None
            assert domain(message.mail_from) == "one.test"
            assert message.message_id == delivery.message_id
            assert delivery.status == DeliveryStatus.SENT
        else:  # nowhere to go in its domain: it waits for the account to be fixed
            assert message is None, message.mail_from
            assert delivery.status == DeliveryStatus.DEFERRED
            assert delivery.attempts == 0


def test_an_ambiguous_delivery_goes_again_only_from_its_domain_with_its_message_id(
    personas, smtp_sink, time_machine
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    setup = make_campaign(personas.workspace, smtp_sink, n=10, from_email="news@one.test")
    other = another_account(setup, smtp_sink, "news@two.test")
    smtp_sink.drop_during_data(times=1)
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=10)
    engine.step()
    [dropped] = smtp_sink.dropped
    used = setup.account if domain(dropped.mail_from) == "one.test" else other
    used.status = AccountStatus.INACTIVE  # its domain has no active account for now
    used.save(update_fields=["status"])
    drive(engine, time_machine, rounds=4)
    ambiguous = Delivery.objects.get(email=dropped.rcpt_tos[0])
    assert ambiguous.status == DeliveryStatus.DEFERRED  # waits: not sent from the other domain
    assert [m for m in smtp_sink.messages if m.rcpt_tos == dropped.rcpt_tos] == []
    used.status = AccountStatus.ACTIVE
    used.save(update_fields=["status"])
    drive(engine, time_machine, rounds=4)
    again = [m for m in smtp_sink.messages if m.rcpt_tos == dropped.rcpt_tos]
    assert [m.message_id for m in again] == [dropped.message_id]
    assert domain(again[0].mail_from) == domain(dropped.mail_from)
