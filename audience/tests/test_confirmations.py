"""Deleting a custom field or recipients in bulk asks first and says what will be lost."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audience.models import CustomField, Recipient, RecipientList, Segment
from audience.tests.factories import RecipientFactory, RecipientListFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def test_deleting_a_field_asks_first_and_counts_its_values(editor_client, workspace):
    field = CustomField.objects.create(workspace=workspace, key="plan", label="Plan")
    RecipientFactory.create(workspace=workspace, email="a@example.com", fields={"plan": "gold"})
    RecipientFactory.create(workspace=workspace, email="b@example.com", fields={"plan": "free"})
    RecipientFactory.create(workspace=workspace, email="c@example.com", fields={"plan": ""})
    RecipientFactory.create(workspace=workspace, email="d@example.com")
    url = reverse("audience:field_delete", kwargs={"field_id": field.pk})

    page = editor_client.post(url).content.decode()
    assert "This deletes the field plan and its values for 2 recipients." in page
    assert CustomField.objects.filter(pk=field.pk).exists()

    editor_client.post(url, {"confirmed": "yes"})
    assert not CustomField.objects.filter(pk=field.pk).exists()


def test_bulk_delete_asks_first_and_keeps_the_selection(editor_client, workspace):
    people = Recipient.objects.bulk_create(
        [Recipient(workspace=workspace, email=f"p{i}@example.com") for i in range(3)]
    )
    data = {"scope": "selected", "action": "delete", "ids": [people[0].pk, people[1].pk]}

    response = editor_client.post(reverse("audience:bulk"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "This deletes 2 recipients" in page
    assert Recipient.objects.count() == 3  # the first POST deletes nothing
    for pk in data["ids"]:
        assert f'name="ids" value="{pk}"' in page

    editor_client.post(reverse("audience:bulk"), {**data, "confirmed": "yes"})
    assert list(Recipient.objects.values_list("email", flat=True)) == ["p2@example.com"]


def test_bulk_delete_of_everything_matching_asks_with_the_count(editor_client, workspace, settings):
    settings.AUDIENCE_BULK_INLINE_MAX = 2
    Recipient.objects.bulk_create(
        [Recipient(workspace=workspace, email=f"p{i}@example.com") for i in range(5)]
    )
    page = editor_client.post(
        reverse("audience:bulk"), {"scope": "all", "action": "delete"}
    ).content.decode()
    assert "This deletes 5 recipients" in page
    assert Recipient.objects.count() == 5


def test_deleting_one_recipient_a_list_or_a_segment_asks_first(editor_client, workspace):
    person = RecipientFactory.create(workspace=workspace, email="kept@example.com")
    members = RecipientListFactory.create(workspace=workspace, name="Members", members=[person])
    segment = SegmentFactory.create(workspace=workspace, name="All", definition={})
    urls = [
        (reverse("audience:recipient_delete", kwargs={"recipient_id": person.pk}), "kept@example"),
        (reverse("audience:list_delete", kwargs={"list_id": members.pk}), "of 1 recipient"),
        (reverse("audience:segment_delete", kwargs={"segment_id": segment.pk}), "saved filter"),
    ]
    for url, words in urls:
        page = editor_client.post(url).content.decode()
        assert words in page
    assert Recipient.objects.filter(pk=person.pk).exists()
    assert RecipientList.objects.filter(pk=members.pk).exists()
    assert Segment.objects.filter(pk=segment.pk).exists()

    for url, _words in urls:
        editor_client.post(url, {"confirmed": "yes"})
    assert not Recipient.objects.exists()
    assert not RecipientList.objects.exists()
    assert not Segment.objects.exists()
