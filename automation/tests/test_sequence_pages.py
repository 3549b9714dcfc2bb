"""Sequences through their pages and the API: built step by step, activated, paused, people
enrolled by API call, progress shown; bad input refused with a clear answer; user data
escaped; a viewer reads but changes nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.confirm import CONFIRM_FIELD
from audience.models import Recipient, RecipientList
from automation.models import (
    Enrollment,
    Sequence,
    SequenceStatus,
    SequenceStep,
    SequenceTrigger,
)
from automation.sequences import selectors
from automation.sequences.schedule import sequences_advance
from automation.tests.sequence_setup import join, make_sequence
from campaigns.models import Campaign, CampaignStatus, Delivery
from content.tests.factories import TemplateFactory
from core.testing.plans import page_rows_read
from sending.models import AccountKind
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def _world(personas):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, name="Main", kind=AccountKind.CAPTURE
    )
    rlist = RecipientList.objects.create(workspace=personas.workspace, name="Trial <b>users</b>")
    first = TemplateFactory.create(workspace=personas.workspace, name="Welcome", subject="Hi")
    second = TemplateFactory.create(workspace=personas.workspace, name="Tips", subject="Tips")
    return account, rlist, first, second


def test_a_sequence_is_built_activated_and_paused_from_its_pages(personas, editor_client):
    account, rlist, first, second = _world(personas)
    response = editor_client.post(
        reverse("automation:sequence_create"),
        {
            "name": "Onboarding <script>",
            "trigger": SequenceTrigger.LIST_JOINED,
            "trigger_list": rlist.pk,
            "accounts": [account.pk],
            "stop_on_click": "on",
        },
    )
    sequence = Sequence.objects.get(workspace=personas.workspace)
    assert response.status_code == 302
    step_url = reverse("automation:step_create", kwargs={"sequence_id": sequence.pk})
    editor_client.post(step_url, {"template": first.pk, "delay": "0", "unit": "minutes"})
    editor_client.post(
        step_url,
        {
            "template": second.pk,
            "delay": "2",
            "unit": "days",
            "window_start": "09:00",
            "window_end": "17:00",
        },
    )
    steps = list(SequenceStep.objects.filter(sequence=sequence).order_by("position"))
    assert [(s.template_id, s.delay_seconds) for s in steps] == [
        (first.pk, 0),
        (second.pk, 2 * 24 * 3600),
    ]
    assert steps[1].window_start is not None
    assert steps[1].window_start.hour == 9
    editor_client.post(reverse("automation:sequence_activate", kwargs={"sequence_id": sequence.pk}))
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.ACTIVE
    hidden = Campaign.objects.filter(sequence_step=True)
    assert hidden.count() == 2
    page = editor_client.get(reverse("campaigns:index")).content.decode()
    assert "Onboarding" not in page  # the step campaigns belong to the sequence's page
    detail = editor_client.get(reverse("automation:sequence", kwargs={"sequence_id": sequence.pk}))
    body = detail.content.decode()
    assert "Onboarding &lt;script&gt;" in body
    assert "<script>" not in body.split("</head>")[1]
    assert "Trial &lt;b&gt;users&lt;/b&gt;" in body
    assert "2 days" in body
    assert "09:00–17:00" in body
    editor_client.post(reverse("automation:sequence_pause", kwargs={"sequence_id": sequence.pk}))
    assert set(hidden.values_list("status", flat=True)) == {CampaignStatus.PAUSED}


def test_the_step_form_says_what_is_wrong_and_keeps_nothing(personas, editor_client):
    setup = make_sequence(personas.workspace)
    url = reverse("automation:step_create", kwargs={"sequence_id": setup.sequence.pk})
    response = editor_client.post(
        url,
        {
            "template": setup.templates[0].pk,
            "delay": "1",
            "unit": "hours",
            "window_start": "09:00",
        },
    )
    assert "Give the sending hours as two different times, or neither." in response.content.decode()
    response = editor_client.post(
        url, {"template": setup.templates[0].pk, "delay": "-3", "unit": "hours"}
    )
    assert response.status_code == 200
    assert SequenceStep.objects.filter(sequence=setup.sequence).count() == 3


def test_activating_without_steps_is_refused(personas, editor_client):
    account, _rlist, _first, _second = _world(personas)
    editor_client.post(
        reverse("automation:sequence_create"),
        {"name": "Empty", "trigger": "api", "accounts": [account.pk]},
    )
    sequence = Sequence.objects.get()
    response = editor_client.post(
        reverse("automation:sequence_activate", kwargs={"sequence_id": sequence.pk}), follow=True
    )
    assert "Add at least one step first." in response.content.decode()
    assert Sequence.objects.get().status == SequenceStatus.DRAFT


def test_a_viewer_reads_but_cannot_change(personas, viewer_client):
    setup = make_sequence(personas.workspace)
    url = reverse("automation:sequence", kwargs={"sequence_id": setup.sequence.pk})
    assert viewer_client.get(url).status_code == 200
    activate = reverse("automation:sequence_activate", kwargs={"sequence_id": setup.sequence.pk})
    assert viewer_client.post(activate).status_code == 403
    assert Sequence.objects.get().status == SequenceStatus.DRAFT


def test_removing_a_step_asks_first(personas, editor_client):
    setup = make_sequence(personas.workspace)
    step = SequenceStep.objects.get(sequence=setup.sequence, position=1)
    url = reverse(
        "automation:step_remove", kwargs={"sequence_id": setup.sequence.pk, "step_id": step.pk}
    )
    page = editor_client.post(url)
    assert "Remove step 2?" in page.content.decode()
    assert SequenceStep.objects.filter(retired_at__isnull=True).count() == 3
    editor_client.post(url, {CONFIRM_FIELD: "yes"})
    current = SequenceStep.objects.filter(retired_at__isnull=True).order_by("position")
    assert [s.template_id for s in current] == [setup.templates[0].pk, setup.templates[2].pk]
    assert [s.position for s in current] == [0, 1]


def test_the_api_builds_a_sequence_and_enrols_by_call(personas, api_for):
    account, _rlist, first, second = _world(personas)
    api = api_for("editor")
    made = api.post(
        "/api/sequences/",
        {"name": "Trial", "trigger": "api", "account_ids": [account.pk]},
        format="json",
    )
    assert made.status_code == 201, made.content
    sid = made.json()["id"]
    for template, delay in ((first, 0), (second, 3600)):
        added = api.post(
            f"/api/sequences/{sid}/steps/",
            {"template_id": template.pk, "delay_seconds": delay},
            format="json",
        )
        assert added.status_code == 201, added.content
    early = api.post(f"/api/sequences/{sid}/enrol/", {"emails": ["a@example.test"]}, format="json")
    assert early.status_code == 400
    assert "Activate the sequence before enrolling people." in early.content.decode()
    assert api.post(f"/api/sequences/{sid}/activate/").status_code == 200
    Recipient.objects.create(workspace=personas.workspace, email="a@example.test")
    enrolled = api.post(
        f"/api/sequences/{sid}/enrol/",
        {"emails": ["A@example.test", "nobody@example.test"]},
        format="json",
    )
    assert enrolled.json() == {"enrolled": 1, "unknown": ["nobody@example.test"]}
    again = api.post(f"/api/sequences/{sid}/enrol/", {"emails": ["a@example.test"]}, format="json")
    assert again.json()["enrolled"] == 0
    sequences_advance(now=Enrollment.objects.get().enrolled_at)
    detail = api.get(f"/api/sequences/{sid}/").json()
    assert [(s["position"], s["queued"], s["waiting"]) for s in detail["steps"]] == [
        (1, 1, 0),
        (2, 0, 1),
    ]
    people = api.get(f"/api/sequences/{sid}/enrollments/").json()
    assert people["results"][0]["email"] == "a@example.test"
    assert people["results"][0]["steps_sent"] == 1
    assert api_for("viewer").post(f"/api/sequences/{sid}/pause/").status_code == 403
    assert api.post(f"/api/sequences/{sid}/pause/").json()["status"] == "paused"


def test_the_api_refuses_bad_input(personas, api_for):
    account, _rlist, _first, _second = _world(personas)
    other_account = SendingAccountFactory.create(workspace=personas.other_workspace)
    api = api_for("editor")
    no_list = api.post(
        "/api/sequences/",
        {"name": "X", "trigger": "list_joined", "account_ids": [account.pk]},
        format="json",
    )
    assert no_list.status_code == 400
    assert "Choose the list whose new members start the sequence." in no_list.content.decode()
    foreign = api.post(
        "/api/sequences/",
        {"name": "X", "trigger": "api", "account_ids": [other_account.pk]},
        format="json",
    )
    assert foreign.status_code == 400
    assert not Sequence.objects.exists()


def test_list_members_who_joined_before_activation_are_not_enrolled(personas):
    setup = make_sequence(personas.workspace)
    join(setup, 2)
    from automation.sequences.services import sequence_activate

    sequence_activate(sequence=setup.sequence)
    join(setup, 3, start=2)
    from django.utils import timezone

    sequences_advance(now=timezone.now())
    enrolled = set(Enrollment.objects.values_list("recipient__email", flat=True))
    assert enrolled == {f"person{i}@example.test" for i in (2, 3, 4)}
    assert Delivery.objects.count() == 3


def test_step_campaigns_stay_out_of_the_campaign_list_calendar_dashboard_and_api(personas, api_for):
    from datetime import timedelta

    from django.utils import timezone

    from automation.sequences.services import sequence_activate
    from campaigns.calendar_days import calendar_campaigns
    from campaigns.dashboard import figures

    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    assert Campaign.objects.filter(sequence_step=True).count() == 3
    today = timezone.localdate()
    shown = calendar_campaigns(
        personas.workspace, today - timedelta(days=1), today + timedelta(days=1)
    )
    assert not shown.exists()
    assert figures(personas.workspace).campaigns_total == 0
    assert api_for("viewer").get("/api/campaigns/").json()["count"] == 0


def test_a_step_campaign_paused_by_the_engine_is_said_and_cannot_be_cancelled(
    personas, owner_client, api_for
):
    from automation.sequences.services import sequence_activate
    from campaigns.services import campaign_pause

    setup = make_sequence(personas.workspace)
    sequence_activate(sequence=setup.sequence)
    step = SequenceStep.objects.get(sequence=setup.sequence, position=0)
    assert step.campaign is not None
    campaign_pause(campaign=step.campaign, reason="Too many bounces.")
    page = owner_client.get(
        reverse("automation:sequence", kwargs={"sequence_id": setup.sequence.pk})
    ).content.decode()
    assert "Held by the engine: Too many bounces." in page
    # Its own page still answers (the recipient timeline links to it).
    detail = owner_client.get(reverse("campaigns:detail", kwargs={"campaign_id": step.campaign.pk}))
    assert detail.status_code == 200
    refused = api_for("owner").post(f"/api/campaigns/{step.campaign.pk}/cancel/")
    assert refused.status_code == 409
    assert "pause the sequence instead" in refused.content.decode()
    assert Campaign.objects.get(pk=step.campaign.pk).status == CampaignStatus.PAUSED


def test_people_are_enrolled_by_hand_from_the_page(personas, editor_client):
    from automation.sequences.services import sequence_activate

    setup = make_sequence(personas.workspace)
    url = reverse("automation:sequence_enrol", kwargs={"sequence_id": setup.sequence.pk})
    early = editor_client.post(url, {"addresses": "person0@example.test"}, follow=True)
    assert "Activate the sequence before enrolling people." in early.content.decode()
    sequence_activate(sequence=setup.sequence)
    join(setup, 2)
    page = editor_client.post(
        url,
        {"addresses": "PERSON0@example.test\nstranger@example.test, person1@example.test"},
        follow=True,
    ).content.decode()
    assert "2 people enrolled." in page
    assert "left out: stranger@example.test" in page
    assert Enrollment.objects.count() == 2
    assert not Recipient.objects.filter(email="stranger@example.test").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_a_page_of_a_sequences_people_reads_one_page_of_rows(personas, api_for):
    # People enrolled from one list share one enrolled_at; the page and the API list them
    # newest first, a page at a time.
    setup = make_sequence(personas.workspace)
    when = timezone.now()
    Enrollment.objects.bulk_create(
        Enrollment(
            workspace=personas.workspace,
            sequence=setup.sequence,
            recipient=person,
            enrolled_at=when,
        )
        for person in join(setup, 300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE automation_enrollment")
    rows = selectors.enrollments_of(personas.workspace, setup.sequence)[:50]
    assert page_rows_read(rows, "automation_enrollment") <= 50
    api = api_for("viewer").get(f"/api/sequences/{setup.sequence.pk}/enrollments/")
    assert api.status_code == 200
    assert api.json()["results"][0]["email"] == "person299@example.test"
