"""`/api/campaigns/?scheduled_since=…&scheduled_until=…`: the campaigns of a calendar's range,
with dates read as local midnights of the workspace's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.models import CampaignStatus
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
URL = "/api/campaigns/"


def test_the_list_gives_the_campaigns_scheduled_in_a_range_of_local_days(personas, api_for):
    workspace = personas.workspace
    workspace.time_zone = "Europe/Moscow"
    workspace.save(update_fields=["time_zone"])
    for name, at in (
        ("Before", datetime(2026, 12, 9, 20, 30, tzinfo=UTC)),  # 23:30 on the 9th in Moscow
        ("First", datetime(2026, 12, 9, 23, 30, tzinfo=UTC)),  # 02:30 on the 10th
        ("Last", datetime(2026, 12, 11, 20, 59, tzinfo=UTC)),  # 23:59 on the 11th
        ("After", datetime(2026, 12, 11, 21, 0, tzinfo=UTC)),  # midnight of the 12th
    ):
        CampaignFactory.create(
            workspace=workspace,
            name=name,
            status=CampaignStatus.SCHEDULED,
            scheduled_at=at,
            bare=True,
        )
    CampaignFactory.create(
        bare=True,
        workspace=personas.other_workspace,
        name="Theirs",
        status=CampaignStatus.SCHEDULED,
        scheduled_at=datetime(2026, 12, 10, 9, 0, tzinfo=UTC),
    )
    api = api_for("viewer")
    params = {"scheduled_since": "2026-12-10", "scheduled_until": "2026-12-12", "ordering": "id"}
    names = [c["name"] for c in api.get(URL, params).json()["results"]]
    assert names == ["First", "Last"]
    since_only = api.get(URL, {"scheduled_since": "2026-12-11T23:59+03:00", "ordering": "id"})
    since_only = since_only.json()
    assert [c["name"] for c in since_only["results"]] == ["Last", "After"]


def test_a_range_that_is_not_a_date_is_400(personas, api_for):
    response = api_for("viewer").get(URL, {"scheduled_since": "next week"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"scheduled_since"}
