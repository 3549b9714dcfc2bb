"""Room reserved by a worker that dies is given back, less what its deliveries used."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engine.claim import claim_batch
from campaigns.engine.outcome import Outcome
from campaigns.engine.record import write_outcomes
from campaigns.engine.step import Engine
from campaigns.models import CampaignStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from sending.models import QuotaHold

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The worker's death in the middle of its batch (nothing after it runs)."""


@pytest.mark.parametrize("recorded", [0, 12])
def test_a_dead_workers_unused_room_goes_back_when_its_lease_runs_out(
    personas, smtp_sink, settings, time_machine, recorded
):
    time_machine.move_to("2026-11-21 10:00:00Z", tick=False)
    settings.DELIVERY_LEASE_SECONDS = 30
    setup = make_campaign(personas.workspace, smtp_sink, n=40)
    campaign_start(campaign=setup.campaign)
    lease = timedelta(seconds=30)
    now = timezone.now()
    dead = Engine()  # its step, as far as its death
    batch = claim_batch(worker=dead.name, limit=40, now=now, lease=lease)
    written: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        if len(written) == 20:
            raise Killed
        written.append(outcome)

    with pytest.raises(Killed):
        dead.sender.send_batch(batch, now, record)
    # What it managed to record before it died (`recorded` of the 20 it sent).
    write_outcomes(worker=dead.name, deliveries=batch, outcomes=written[:recorded], now=now)
    setup.account.refresh_from_db()
    assert setup.account.sent_today == 40  # the whole batch's room, held

    time_machine.shift(timedelta(seconds=31))
    engine = Engine()
    while engine.step():
        pass
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.COMPLETED
    setup.account.refresh_from_db()
    # 40 recipients, each counted once: the dead worker's recorded sends, and the rest sent
    # again by the living one (the dead one's unrecorded sends were given back with the rest).
    assert setup.account.sent_today == 40
    assert not QuotaHold.objects.exists()


def test_a_finished_share_settles_its_hold(personas, smtp_sink):
    setup = make_campaign(personas.workspace, smtp_sink, n=5)
    campaign_start(campaign=setup.campaign)
    Engine().step()
    assert not QuotaHold.objects.exists()
    setup.account.refresh_from_db()
    assert setup.account.sent_today == 5
