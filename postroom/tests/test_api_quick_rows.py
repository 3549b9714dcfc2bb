"""Every API answer is the same with QuickRows as with DRF's own way of writing rows.

The walker's providers (each app's tests/tenancy.py) make one object of every kind in a
workspace; every GET route of the API is asked twice by its owner's key, once as it runs and
once with `QuickRows` handing every row back to DRF, and the two answers must be equal.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework import serializers

from accounts.keys.services import api_key_create
from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from audience.tests.factories import RecipientFactory, RecipientListFactory, SegmentFactory
from campaigns.tests.factories import CampaignFactory
from core.api.representation import QuickRows
from postroom.tests.test_tenancy import Foreign, all_routes, providers
from sending.tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db

NOT_RESOURCES = {"api:schema", "api:docs"}
# Answers that say when they were made: compared without that.
MADE_AT = {"checked_at"}
ACCOUNTS = "sending_sendingaccount"


def test_every_get_of_the_api_answers_as_drf_would(smtp_sink: Any, settings: Any) -> None:
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # the providers' accounts use the SMTP sink
    owner = MembershipFactory.create(role=Role.OWNER)
    home = Foreign(workspace=owner.workspace, owner=owner.user)
    available = providers()
    made: dict[str, Any] = {}
    key = api_key_create(
        workspace=home.workspace, name="walk", role=Role.OWNER, created_by=home.owner
    ).raw
    client = Client(HTTP_X_API_KEY=key)
    quick_rows = mock.patch.object(
        QuickRows, "to_representation", serializers.Serializer.to_representation
    )
    written = {"rows": 0}
    drf_rows = QuickRows.to_representation

    def counted(self: Any, instance: Any) -> dict[str, Any]:
        written["rows"] += 1
        return drf_rows(self, instance)

    compared = []
    for route in all_routes():
        if not route.name.startswith("api:") or route.name in NOT_RESOURCES:
            continue
        kwargs = {k: made.setdefault(k, available[k](home)) for k in route.kwargs}
        url = reverse(route.name, kwargs=kwargs)
        with mock.patch.object(QuickRows, "to_representation", counted):
            quick = client.get(url)
        with quick_rows:
            drf = client.get(url)
        assert quick.status_code == drf.status_code, url
        if quick.status_code == 200 and quick["Content-Type"] == "application/json":
            assert _timeless(quick.json()) == _timeless(drf.json()), url
            compared.append(url)
    # A walk that compared nothing, or never met a QuickRows serializer, would pass anything.
    assert len(compared) >= 30, compared
    assert written["rows"] >= 10, written


def _timeless(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {k: _timeless(v) for k, v in answer.items() if k not in MADE_AT}
    return answer


@pytest.mark.parametrize(
    ("path", "related_tables"),
    [
        ("/api/recipients/", ["audience_recipientlist"]),
        (
            "/api/campaigns/",
            ["audience_recipientlist", "audience_segment", "sending_sendingaccount"],
        ),
    ],
)
def test_a_page_reads_its_relations_ids_not_their_rows(
    path: str, related_tables: list[str], api_for: Any, personas: Any
) -> None:
    """Lists, segments and accounts are shown by id: a page reads their pairs tables alone,
    in one query each however many rows it shows (`RelatedIds`)."""
    workspace = personas.workspace
    lists = RecipientListFactory.create_batch(3, workspace=workspace)
    segment = SegmentFactory.create(workspace=workspace)
    account = SendingAccountFactory.create(workspace=workspace)
    api = api_for(Role.VIEWER)

    def grow(n: int) -> None:
        for _ in range(n):
            person = RecipientFactory.create(workspace=workspace)
            for held in lists[:2]:
                held.recipients.add(person)
            campaign = CampaignFactory.create(workspace=workspace)
            campaign.lists.set(lists)
            campaign.segments.set([segment])
            campaign.accounts.set([account])

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            answer = api.get(path)
        assert answer.status_code == 200
        rows = answer.json()["results"]
        assert rows
        assert all(len(r["list_ids"]) >= 2 for r in rows)
        return [q["sql"] for q in captured.captured_queries]

    grow(2)
    queries()  # the key's first use is noted once
    few = queries()
    grow(8)
    many = queries()
    assert len(many) == len(few)
    read = [(table, sql) for sql in many for table in related_tables if f'"{table}"' in sql]
    assert not read, read


def test_rows_the_key_walk_cannot_reach_are_drfs_rows() -> None:
    # A person's notifications and the platform's campaigns answer no API key, so the walk
    # above compares neither: their serializers are compared here, row by row.
    from django.utils import timezone

    from campaigns import selectors as campaign_selectors
    from campaigns.api.platform import PlatformCampaignSerializer
    from notifications.api.views import NotificationSerializer
    from notifications.kinds import Kind
    from notifications.models import Notification

    owner = MembershipFactory.create(role=Role.OWNER)
    now = timezone.now()
    notes = [
        Notification.objects.create(
            workspace=owner.workspace, user=owner.user, kind=kind, key=str(n),
            subject_name="Spring “sale” <b>", subject_id=subject, reason=reason, read_at=read,
        )
        for n, (kind, subject, reason, read) in enumerate(
            [
                (Kind.CAMPAIGN_FINISHED, 7, "", None),
                (Kind.ACCOUNT_ERROR, None, "535 refused", now),
                (Kind.IMPORT_FAILED, 3, "", None),
            ]
        )
    ]  # fmt: skip
    campaigns = [
        CampaignFactory.create(workspace=owner.workspace, created_by=owner.user),
        CampaignFactory.create(workspace=owner.workspace, disabled_at=now, disabled_by=owner.user),
    ]
    counts = campaign_selectors.list_counts(campaigns)
    cases: list[tuple[Any, list[Any], dict[str, Any]]] = [
        (NotificationSerializer, notes, {}),
        (PlatformCampaignSerializer, campaigns, {"counts": counts}),
    ]
    for serializer, rows, context in cases:
        quick = serializer(rows, many=True, context=context).data
        with mock.patch.object(
            QuickRows, "to_representation", serializers.Serializer.to_representation
        ):
            drf = serializer(rows, many=True, context=context).data
        assert issubclass(serializer, QuickRows), serializer
        assert quick == drf, serializer
        assert len(quick) == len(rows)
