"""The date trigger and step conditions through the pages and the API: set, shown, and bad
input refused with nothing changed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audience.models import CustomField, CustomFieldType
from automation.models import Sequence, SequenceStep, SequenceTrigger, StepCondition
from content.tests.factories import TemplateFactory
from sending.models import AccountKind
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


def _world(personas):
    account = SendingAccountFactory.create(
        workspace=personas.workspace, name="Main", kind=AccountKind.CAPTURE
    )
    field = CustomField.objects.create(
        workspace=personas.workspace,
        key="birthday",
        label="Birthday <b>day</b>",
        type=CustomFieldType.DATE,
    )
    template = TemplateFactory.create(workspace=personas.workspace, name="Greeting")
    return account, field, template


def test_a_birthday_sequence_with_a_conditional_step_is_built_from_the_pages(
    personas, editor_client
):
    account, field, template = _world(personas)
    response = editor_client.post(
        reverse("automation:sequence_create"),
        {
            "name": "Birthdays",
            "trigger": SequenceTrigger.DATE_FIELD,
            "date_field": field.pk,
            "date_offset_days": "-3",
            "date_every_year": "on",
            "accounts": [account.pk],
        },
    )
    assert response.status_code == 302
    sequence = Sequence.objects.get(workspace=personas.workspace)
    assert (sequence.date_field_id, sequence.date_offset_days, sequence.date_every_year) == (
        field.pk,
        -3,
        True,
    )
    step_url = reverse("automation:step_create", kwargs={"sequence_id": sequence.pk})
    editor_client.post(step_url, {"template": template.pk, "delay": "0", "unit": "days"})
    editor_client.post(
        step_url,
        {"template": template.pk, "delay": "2", "unit": "days", "condition": "not_opened"},
    )
    conditions = list(SequenceStep.objects.order_by("position").values_list("condition", flat=True))
    assert conditions == [StepCondition.ALWAYS, StepCondition.NOT_OPENED]
    page = editor_client.get(
        reverse("automation:sequence", kwargs={"sequence_id": sequence.pk})
    ).content.decode()
    assert "Birthday &lt;b&gt;day&lt;/b&gt;" in page
    assert 'id="date-trigger"' in page
    assert "Only who did not open the previous message" in page
    index = editor_client.get(reverse("automation:sequences")).content.decode()
    assert "By the date Birthday &lt;b&gt;day&lt;/b&gt; (every year)" in index
    edit = editor_client.get(
        reverse("automation:sequence_edit", kwargs={"sequence_id": sequence.pk})
    )
    assert re.search(r'<input[^>]*name="date_every_year"[^>]*checked', edit.content.decode())


def test_the_pages_refuse_a_date_trigger_without_a_date_field(personas, editor_client):
    account, _field, _template = _world(personas)
    text = CustomField.objects.create(
        workspace=personas.workspace, key="plan", label="Plan", type=CustomFieldType.TEXT
    )
    response = editor_client.post(
        reverse("automation:sequence_create"),
        {"name": "Renewals", "trigger": SequenceTrigger.DATE_FIELD, "accounts": [account.pk]},
    )
    assert response.status_code == 200
    assert "Choose the date field that starts the sequence." in response.content.decode()
    chosen = editor_client.post(
        reverse("automation:sequence_create"),
        {
            "name": "Renewals",
            "trigger": SequenceTrigger.DATE_FIELD,
            "date_field": text.pk,  # not offered: only date fields are
            "accounts": [account.pk],
        },
    )
    assert chosen.status_code == 200
    assert not Sequence.objects.exists()


def test_the_api_sets_and_shows_the_date_trigger_and_step_conditions(personas, api_for):
    account, field, template = _world(personas)
    api = api_for("editor")
    made = api.post(
        "/api/sequences/",
        {
            "name": "Renewals",
            "trigger": "date_field",
            "date_field_id": field.pk,
            "date_offset_days": -7,
            "account_ids": [account.pk],
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["date_field_id"], body["date_offset_days"], body["date_every_year"]) == (
        field.pk,
        -7,
        False,
    )
    sid = body["id"]
    added = api.post(
        f"/api/sequences/{sid}/steps/",
        {"template_id": template.pk, "delay_seconds": 0, "condition": "clicked"},
        format="json",
    )
    assert added.status_code == 201
    assert added.json()["steps"][0]["condition"] == "clicked"
    bad = api.post(
        f"/api/sequences/{sid}/steps/",
        {"template_id": template.pk, "delay_seconds": 0, "condition": "replied"},
        format="json",
    )
    assert bad.status_code == 400
    far = api.post(
        "/api/sequences/",
        {
            "name": "Far",
            "trigger": "date_field",
            "date_field_id": field.pk,
            "date_offset_days": 400,
            "account_ids": [account.pk],
        },
        format="json",
    )
    assert far.status_code == 400
    foreign = CustomField.objects.create(
        workspace=personas.other_workspace, key="birthday", label="B", type=CustomFieldType.DATE
    )
    theirs = api.post(
        "/api/sequences/",
        {
            "name": "Theirs",
            "trigger": "date_field",
            "date_field_id": foreign.pk,
            "account_ids": [account.pk],
        },
        format="json",
    )
    assert theirs.status_code == 400
    assert Sequence.objects.count() == 1
