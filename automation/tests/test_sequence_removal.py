"""Steps changed and removed by API, and a sequence deleted (page and API): nothing more is
sent, what was sent stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.confirm import CONFIRM_FIELD
from automation.models import Enrollment, Sequence, SequenceStep, StepCondition
from automation.sequences.schedule import sequences_advance
from automation.sequences.services import sequence_activate
from automation.tests.sequence_setup import DAY, join, make_sequence
from campaigns.engine.step import Engine
from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.tests.conftest import apply_engine_settings
from conftest import api_key_client
from content.tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _engine_settings(settings):
    apply_engine_settings(settings)


def run(engine: Engine) -> None:
    sequences_advance(now=timezone.now())
    while engine.step():
        pass


def test_the_api_changes_only_the_given_fields_of_a_step_and_removes_one(personas, api_for):
    setup = make_sequence(personas.workspace)
    sid = setup.sequence.pk
    second, third = SequenceStep.objects.filter(sequence=setup.sequence).order_by("position")[1:]
    api = api_for("editor")
    changed = api.patch(
        f"/api/sequences/{sid}/steps/{second.pk}/", {"condition": "opened"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    second.refresh_from_db()
    assert (second.condition, second.delay_seconds, second.template_id) == (
        StepCondition.OPENED,
        DAY,
        setup.templates[1].pk,
    )
    other = TemplateFactory.create(workspace=personas.other_workspace)
    foreign = api.patch(
        f"/api/sequences/{sid}/steps/{second.pk}/", {"template_id": other.pk}, format="json"
    )
    assert foreign.status_code == 400
    too_long = api.patch(
        f"/api/sequences/{sid}/steps/{second.pk}/", {"delay_seconds": 10**9}, format="json"
    )
    assert too_long.status_code == 400
    assert api_for("viewer").delete(f"/api/sequences/{sid}/steps/{third.pk}/").status_code == 403
    removed = api.delete(f"/api/sequences/{sid}/steps/{third.pk}/")
    assert removed.status_code == 200
    assert [s["id"] for s in removed.json()["steps"]] == [
        s.pk for s in SequenceStep.objects.filter(sequence=setup.sequence).order_by("position")[:2]
    ]
    assert api.delete(f"/api/sequences/{sid}/steps/{third.pk}/").status_code == 404


def test_deleting_a_sequence_stops_its_sends_and_keeps_what_it_sent(
    personas, smtp_sink, editor_client, time_machine
):
    time_machine.move_to("2026-11-02 09:00:00Z", tick=False)
    setup = make_sequence(personas.workspace, smtp_sink, delays=(0, DAY))
    sequence_activate(sequence=setup.sequence)
    join(setup, 2)
    engine = Engine(batch_size=50)
    run(engine)
    time_machine.shift(timedelta(days=1))
    sequences_advance(now=timezone.now())  # step 2 queued, not sent yet
    assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 2
    url = reverse("automation:sequence_delete", kwargs={"sequence_id": setup.sequence.pk})
    asked = editor_client.post(url)
    assert asked.status_code == 200
    assert "Messages it sent stay" in asked.content.decode()
    assert Sequence.objects.exists()
    done = editor_client.post(url, {CONFIRM_FIELD: "yes"})
    assert done.status_code == 302
    assert not Sequence.objects.exists()
    assert not Enrollment.objects.exists()
    run(engine)
    assert len(smtp_sink.messages) == 2  # step 2 never went
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == [DeliveryStatus.CANCELLED] * 2 + [DeliveryStatus.SENT] * 2
    campaigns = Campaign.objects.filter(sequence_step=True)
    assert set(campaigns.values_list("status", flat=True)) == {CampaignStatus.CANCELLED}


def test_the_api_deletes_a_sequence_of_its_own_workspace_only(personas, api_for):
    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    sid = setup.sequence.pk
    assert api_for("viewer").delete(f"/api/sequences/{sid}/").status_code == 403
    outsider = api_key_client(personas.other_workspace, "owner", created_by=personas.outsider)
    assert outsider.delete(f"/api/sequences/{sid}/").status_code == 404
    gone = api_for("editor").delete(f"/api/sequences/{sid}/")
    assert gone.status_code == 200
    assert gone.json() == {"cancelled": 0}
    assert not Sequence.objects.exists()
    assert Campaign.objects.filter(sequence_step=True).count() == 3
