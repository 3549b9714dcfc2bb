"""A tarpitting XOAUTH2 server, or an e-mail service whose API hangs, holds up only its account.

The fault this guards against: OAuth2 and e-mail-service accounts were sent in the step's own
thread (an OAuth2 transport stores its refreshed token in the database), so while one of them
waited on its server every other account of the worker waited too, up to the timeout. They
have lanes now, like SMTP accounts, and an OAuth2 lane refreshes its token on a database
connection of its own. Here the slow account stands beside a healthy SMTP one in the same
campaign: a watcher thread (no database) sees everything the healthy account was given
arrive while the slow one still holds its first request; then the slow one answers, and
every delivery ends sent once, with the OAuth2 token refreshed and stored by the lane.

The lane's token write commits on its own connection, which a test transaction would hide
from it: these tests use a transactional database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from campaigns.engine.step import Engine
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests import sink_checks
from campaigns.tests.conftest import Setup, make_campaign
from core.testing.http import PostmarkApi, TokenEndpoint
from core.testing.smtp import SmtpSink
from sending.models import AccountKind, EspProvider, SendingAccount
from sending.tests.factories import SendingAccountFactory, oauth2_account_fields

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 10
N = 20  # recipients
PATIENCE = 60.0  # seconds the watcher waits for the healthy server at most (a bound, not a speed)


@dataclass
class SlowAccount:
    """An account whose server holds its first request until `release()`."""

    held: Callable[[], int]  # requests held right now
    release: Callable[[], None]
    delivered: Callable[[], list[str]]  # the recipients it accepted, in order
    check: Callable[[SendingAccount], None]  # what must hold of the account afterwards


@pytest.fixture
def oauth2_tarpit(settings) -> Iterator[Callable[..., tuple[Setup, SlowAccount]]]:
    with SmtpSink() as tarpit, TokenEndpoint() as endpoint:

        def make(workspace) -> tuple[Setup, SlowAccount]:
            tarpit.require_auth("owner@example.com", oauth_token=endpoint.token)
            tarpit.tarpit("greeting", seconds=PATIENCE + 30)
            setup = make_campaign(workspace, tarpit, n=N, **oauth2_account_fields(endpoint))

            def check(stored: SendingAccount) -> None:
                assert endpoint.requests, "the lane never refreshed the token"
                # Stored by the lane, on its own connection, and committed.
                assert stored.oauth_access_token == endpoint.token
                assert tarpit.messages
                assert {m.auth_login for m in tarpit.messages} == {"owner@example.com"}

            return setup, SlowAccount(
                held=lambda: tarpit.held,
                release=tarpit.release,
                delivered=lambda: [m.rcpt_tos[0] for m in tarpit.messages],
                check=check,
            )

        yield make


@pytest.fixture
def stuck_service(settings) -> Iterator[Callable[..., tuple[Setup, SlowAccount]]]:
    with PostmarkApi() as api:
        # anymail's real Postmark backend, aimed at the stand-in on loopback.
        settings.ANYMAIL = {"POSTMARK_API_URL": api.url, "REQUESTS_TIMEOUT": PATIENCE + 60}
        api.hold()

        def make(workspace) -> tuple[Setup, SlowAccount]:
            setup = make_campaign(
                workspace,
                api,
                n=N,
                kind=AccountKind.ESP,
                esp_provider=EspProvider.POSTMARK,
                esp_api_key="server-token",
                from_email="news@example.com",
            )

            def check(stored: SendingAccount) -> None:
                assert api.messages

            return setup, SlowAccount(
                held=lambda: api.held,
                release=api.release,
                delivered=lambda: [m["To"] for m in api.messages],
                check=check,
            )

        yield make


class Watcher(threading.Thread):
    """Waits until the healthy server has `wanted` messages and notes what the slow account
    held at that moment; then lets the slow account answer. No database here."""

    def __init__(self, healthy: SmtpSink, slow: SlowAccount, wanted: int) -> None:
        super().__init__(daemon=True)
        self.healthy, self.slow, self.wanted = healthy, slow, wanted
        self.seen: tuple[int, int, int] | None = None  # healthy messages, held, slow delivered
        self.failure = ""

    def run(self) -> None:
        try:
            self.healthy.wait_for(self.wanted, timeout=PATIENCE)
            self.seen = (len(self.healthy.messages), self.slow.held(), len(self.slow.delivered()))
        except AssertionError as exc:
            self.failure = str(exc)
        finally:
            self.slow.release()


@pytest.mark.parametrize("kind", ["oauth2_tarpit", "stuck_service"])
def test_a_slow_oauth2_or_service_account_holds_up_only_itself(
    request, personas, smtp_sink, settings, time_machine, kind
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    settings.SENDING_TIMEOUT = PATIENCE + 60  # the client waits; the watcher decides
    settings.SENDING_CONNECTIONS_PER_ACCOUNT = 1
    settings.DELIVERY_LEASE_SECONDS = 600
    settings.DELIVERY_LANE_SECONDS = PATIENCE + 60
    # The slow account first, so that the old worker met it first in every batch.
    setup, slow = request.getfixturevalue(kind)(personas.workspace)
    healthy_account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        daily_limit=10_000,
        min_interval_seconds=0,
    )
    campaign = setup.campaign
    campaign.accounts.add(healthy_account)
    campaign_start(campaign=campaign)
    held = BATCH // 2  # the slow account's even share of the first batch
    wanted = N - held  # everything else: the healthy account took it all

    watcher = Watcher(smtp_sink, slow, wanted)
    watcher.start()
    engine = Engine(batch_size=BATCH)
    try:
        engine.step()  # it ends once the slow account has answered
    finally:
        watcher.join(timeout=PATIENCE + 10)
        slow.release()

    # While the slow account held its first request, unanswered, the healthy server had
    # everything the healthy account was given.
    assert watcher.failure == ""
    assert watcher.seen == (wanted, 1, 0)

    for _ in range(20):
        if campaign.status == CampaignStatus.COMPLETED:
            break
        time_machine.shift(timedelta(seconds=90))
        engine.step()
        campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    emails = dict(Delivery.objects.values_list("pk", "email"))
    healthy = smtp_sink.messages
    assert sink_checks.check_messages(healthy, emails) == []
    assert sink_checks.duplicates(healthy) == (0, [])
    delivered = [m.rcpt_tos[0] for m in healthy] + slow.delivered()
    assert sorted(delivered) == sorted(emails.values())  # each recipient once, nothing lost
    assert len(slow.delivered()) == held
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
    slow.check(SendingAccount.objects.get(pk=setup.account.pk))
