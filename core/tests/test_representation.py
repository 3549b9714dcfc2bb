"""QuickRows writes what DRF writes; RelatedIds reads a page's relation in one query."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from audience.models import Recipient, RecipientList
from audience.tests.factories import RecipientFactory
from core.api.fields import RelatedIds
from core.api.representation import QuickRows

pytestmark = pytest.mark.django_db


class Rows(serializers.ModelSerializer[Recipient]):
    """Every kind of field QuickRows meets: plain ones it reads itself, the rest DRF's way."""

    shout = serializers.SerializerMethodField()
    display = serializers.CharField(source="get_status_display")  # a method: DRF calls it
    workspace_name = serializers.CharField(source="workspace.name")  # dotted
    lists_held = serializers.IntegerField(source="held", read_only=True)  # an annotation
    made = serializers.DateTimeField(source="created_at")
    made_plain = serializers.DateTimeField(source="created_at", format="%Y-%m-%d %H:%M")
    made_in_tokyo = serializers.DateTimeField(
        source="created_at", default_timezone=ZoneInfo("Asia/Tokyo")
    )
    list_ids = RelatedIds("lists")

    class Meta:
        model = Recipient
        fields = (
            "id",
            "email",
            "first_name",
            "status",
            "fields",
            "created_at",
            "updated_at",
            "workspace_id",
            "shout",
            "display",
            "workspace_name",
            "lists_held",
            "made",
            "made_plain",
            "made_in_tokyo",
            "list_ids",
        )
        read_only_fields = fields

    def get_shout(self, obj: Recipient) -> str:
        return obj.email.upper()


class QuickRowsOut(QuickRows, Rows):
    pass


def _people() -> list[Recipient]:
    workspace = MembershipFactory.create(role=Role.OWNER).workspace
    first = RecipientFactory.create(workspace=workspace, first_name="Ann", fields={"plan": 3})
    RecipientFactory.create(workspace=workspace, first_name="", status="unsubscribed")
    third = RecipientFactory.create(workspace=workspace, fields={"n": None, "ok": True})
    later = RecipientList.objects.create(workspace=workspace, name="B later")
    earlier = RecipientList.objects.create(workspace=workspace, name="A earlier")
    later.recipients.add(first, third)
    earlier.recipients.add(first)
    return list(
        Recipient.objects.filter(workspace=workspace).annotate(held=Count("lists")).order_by("id")
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Moscow", "America/St_Johns"])
def test_quick_rows_are_drfs_rows(zone: str) -> None:
    people = _people()
    with timezone.override(ZoneInfo(zone)):
        quick = QuickRowsOut(people, many=True).data
        drf = Rows(people, many=True).data
        single = QuickRowsOut(people[0]).data
    assert quick == drf
    assert single == drf[0]
    assert quick[0]["list_ids"] == sorted(quick[0]["list_ids"])
    assert len(quick[0]["list_ids"]) == 2
    assert quick[1]["list_ids"] == []
    assert quick[1]["display"] == "Unsubscribed"
    if zone != "UTC":  # the active zone shows: written with its offset, not as UTC's "Z"
        assert not quick[0]["made"].endswith("Z")


def test_naive_and_missing_times_are_written_as_drf_writes_them() -> None:
    people = _people()
    naive = people[0]
    # A naive time (none is stored so): DRF makes it aware in the active zone.
    naive.created_at = datetime.datetime(2026, 3, 29, 1, 30)  # noqa: DTZ001
    naive.updated_at = None  # type: ignore[assignment]
    with timezone.override(ZoneInfo("Europe/Berlin")):
        assert QuickRowsOut(naive).data == Rows(naive).data


def test_related_ids_read_a_page_in_one_query_of_the_pairs_table() -> None:
    people = _people()

    class ListIds(serializers.Serializer[Any]):
        list_ids = RelatedIds("lists")

    with CaptureQueriesContext(connection) as queries:
        rows = ListIds(people, many=True).data
    assert len(queries) == 1
    assert "audience_recipientlist" not in queries[0]["sql"]  # the lists are not read
    by_recipient = {p.pk: sorted(p.lists.values_list("pk", flat=True)) for p in people}
    assert [r["list_ids"] for r in rows] == [by_recipient[p.pk] for p in people]
