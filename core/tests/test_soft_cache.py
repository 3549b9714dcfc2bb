"""When the cache (Redis) cannot be reached, figures are counted without it: the pages and the
API answer, the engine's forgetting does not fail, and the cache is not asked again at once.

Found in the multi-host test: a worker host that reached the database and the broker but not
Redis failed after each campaign's completion (the dashboard's invalidation raised), and a
web process would have answered 500 on every page with cached figures."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from campaigns import dashboard
from campaigns.selectors import COUNTS_FLIGHT, current_counts
from campaigns.tests.factories import CampaignFactory, DeliveryFactory
from core import soft_cache
from core.single_flight import SingleFlight

pytestmark = pytest.mark.django_db

FLIGHT = SingleFlight("soft-cache-test", ttl=60, computing=10)


@pytest.mark.usefixtures("unreachable_cache")
def test_figures_are_counted_without_the_cache_and_it_is_not_asked_again_at_once(caplog):
    counted = []

    def compute() -> dict[str, int]:
        counted.append(1)
        return {"n": len(counted)}

    with caplog.at_level(logging.WARNING, logger="core.soft_cache"):
        assert FLIGHT.get(1, compute, dict) == {"n": 1}
        assert FLIGHT.get(1, compute, dict) == {"n": 2}  # nothing kept: counted again
        FLIGHT.invalidate(1)
        many = FLIGHT.get_many([1, 2], lambda ids: {i: {"id": i} for i in ids}, dict)
        assert many == {1: {"id": 1}, 2: {"id": 2}}
    warnings = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(warnings) == 1  # the first failure; then the cache rests for PAUSE
    assert soft_cache.add("k", 1, 10) is True  # each caller computes for itself


@pytest.mark.usefixtures("unreachable_cache")
def test_the_cache_is_asked_again_once_the_pause_is_over(caplog, monkeypatch):
    monkeypatch.setattr(soft_cache, "PAUSE", 0.0)
    with caplog.at_level(logging.WARNING, logger="core.soft_cache"):
        assert soft_cache.get("k") is None
        assert soft_cache.get_many(["k"]) == {}
    assert len([r for r in caplog.records if "cannot be reached" in r.getMessage()]) == 2


@pytest.mark.usefixtures("unreachable_cache")
def test_the_pages_and_the_api_answer_and_the_engine_forgets_without_the_cache(
    personas, owner_client, api_for
):
    campaign = CampaignFactory.create(workspace=personas.workspace)
    DeliveryFactory.create(campaign=campaign)
    for name in ("dashboard", "campaigns:index", "audience:index"):
        assert owner_client.get(reverse(name)).status_code == 200, name
    assert owner_client.get(reverse("campaigns:detail", args=[campaign.pk])).status_code == 200
    assert api_for("viewer").get("/api/campaigns/").status_code == 200
    dashboard.invalidate(personas.workspace.pk, history=True)
    COUNTS_FLIGHT.invalidate(campaign.pk)
    assert current_counts([campaign]) == {campaign.pk: {"queued": 1}}
