"""The OpenAPI document lists the query parameters of the list endpoints whose filters are
django-filter FilterSets (core.api.filters), with their types and choices."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from audience.models import SuppressionReason
from campaigns.models import AttemptOutcome, CampaignStatus, DeliveryStatus
from webhooks.models import EventState

# path: {parameter: (type, enum or None)}
FILTERS: dict[str, dict[str, tuple[str, list[str] | None]]] = {
    "/api/campaigns/": {
        "status": ("string", list(CampaignStatus.values)),
        "single": ("boolean", None),
        "scheduled_since": ("string", None),
        "scheduled_until": ("string", None),
        "ordering": (
            "string",
            ["created_at", "-created_at", "name", "-name", "status", "-status", "id", "-id"],
        ),
    },
    "/api/email-burst/": {
        "status": ("string", list(CampaignStatus.values)),
        "single": ("boolean", None),
        "scheduled_since": ("string", None),
        "scheduled_until": ("string", None),
        "ordering": ("string", None),
    },
    "/api/deliveries/": {
        "campaign_id": ("integer", None),
        "status": ("string", list(DeliveryStatus.values)),
        "email": ("string", None),
        "account_id": ("integer", None),
        "since": ("string", None),
        "until": ("string", None),
    },
    "/api/attempts/": {
        "campaign_id": ("integer", None),
        "delivery_id": ("integer", None),
        "outcome": ("string", list(AttemptOutcome.values)),
        "account_id": ("integer", None),
        "since": ("string", None),
        "until": ("string", None),
    },
    "/api/suppressions/": {
        "reason": ("string", list(SuppressionReason.values)),
        "q": ("string", None),
    },
    "/api/notifications/": {"unread": ("boolean", None)},
    "/api/templates/": {
        "search": ("string", None),
        "ordering": (
            "string",
            ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"],
        ),
    },
    "/api/captured-messages/": {
        "account_id": ("integer", None),
        "recipient": ("string", None),
        "message_id": ("string", None),
    },
    "/api/webhooks/{endpoint_id}/deliveries/": {"state": ("string", list(EventState.values))},
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    document: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return document


@pytest.mark.parametrize("path", sorted(FILTERS))
def test_list_endpoint_documents_its_filters(schema: dict[str, Any], path: str) -> None:
    documented = {
        parameter["name"]: parameter
        for parameter in schema["paths"][path]["get"]["parameters"]
        if parameter["in"] == "query"
    }
    for name, (kind, enum) in FILTERS[path].items():
        assert name in documented, f"{path} does not document ?{name}="
        assert documented[name]["schema"]["type"] == kind, (path, name)
        assert documented[name].get("required", False) is False, (path, name)
        if enum is not None:
            assert sorted(documented[name]["schema"]["enum"]) == sorted(enum), (path, name)


def test_time_filters_say_how_a_date_is_read(schema: dict[str, Any]) -> None:
    parameters = schema["paths"]["/api/deliveries/"]["get"]["parameters"]
    since = next(p for p in parameters if p["name"] == "since")
    assert "workspace's time zone" in since["description"]
