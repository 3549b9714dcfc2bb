"""The list filters of /api/campaigns/ (and /api/email-burst/), /api/deliveries/ and
/api/attempts/, with the parameters and refusals these endpoints always had."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Lower

from campaigns.models import AttemptOutcome, CampaignStatus, Delivery, DeliveryStatus
from campaigns.selectors import deliveries_of_address
from core.api.filters import (
    AlwaysFilter,
    QueryFilter,
    WorkspaceFilterSet,
    boolean_schema,
    integer_schema,
    moment,
    one_of,
    string_schema,
    whole_id,
)

ORDERINGS = ["created_at", "-created_at", "name", "-name", "status", "-status", "id", "-id"]
MOMENT_TEXT = "An ISO date-time, or a date (local midnight in the workspace's time zone)."


def id_filter(field_name: str) -> QueryFilter:
    return QueryFilter(
        field_name, parse=whole_id("Give an id (a whole number)."), schema=integer_schema()
    )


def choice_filter(field_name: str, choices: list[str]) -> QueryFilter:
    return QueryFilter(
        field_name,
        parse=one_of(choices, "Give one of: {choices}."),
        schema=string_schema(enum=choices),
    )


def moment_filter(field_name: str, lookup_expr: str, description: str) -> QueryFilter:
    return QueryFilter(
        field_name,
        lookup_expr,
        parse=moment("Give a date (2026-05-31) or an ISO date-time."),
        schema=string_schema(f"{description} {MOMENT_TEXT}"),
    )


def _single(qs: QuerySet[Any], value: bool | None) -> QuerySet[Any]:
    return qs.filter(is_single=bool(value))


def _ordered(qs: QuerySet[Any], value: str | None) -> QuerySet[Any]:
    ordering = value or "-created_at"
    return qs.order_by(ordering, "-id" if ordering.startswith("-") else "id")


class CampaignFilterSet(WorkspaceFilterSet):
    """Campaigns, single e-mails only with `?single=true` (they have their own queue in the
    UI); the calendar's range by scheduled time."""

    status = choice_filter("status", list(CampaignStatus.values))
    single = AlwaysFilter(
        parse=lambda raw, zone: raw.lower() in ("1", "true", "yes"),
        strip=False,
        apply=_single,
        schema=boolean_schema("List the single e-mails instead."),
    )
    scheduled_since = moment_filter(
        "scheduled_at", "gte", "Campaigns scheduled at or after this moment (the calendar's range)."
    )
    scheduled_until = moment_filter(
        "scheduled_at", "lt", "Campaigns scheduled before this moment (the calendar's range)."
    )
    ordering = AlwaysFilter(
        parse=one_of(ORDERINGS, "Give one of: {choices}."),
        apply=_ordered,
        schema=string_schema("Default: -created_at.", ORDERINGS),
    )


class AddressFilter(QueryFilter):
    """Deliveries to one whole address, case aside, found by index (the recipient's, and the
    sent deliveries' lower(email)): UPPER(email) = UPPER(…) read every delivery of the
    workspace. Not found, as by the log: a delivery never sent whose recipient has changed
    address since (selectors.deliveries_of_address)."""

    def filter(self, qs: QuerySet[Delivery], value: str | None) -> QuerySet[Delivery]:
        address = (value or "").strip().lower()
        if not address:
            return qs
        ids = deliveries_of_address(self.parent.workspace, address)
        return qs.filter(pk__in=ids).annotate(address=Lower("email")).filter(address=address)


class DeliveryFilterSet(WorkspaceFilterSet):
    """The workspace-wide search of deliveries; `since`/`until` bound the time of the
    delivery's last change."""

    campaign_id = id_filter("campaign_id")
    status = choice_filter("status", list(DeliveryStatus.values))
    email = AddressFilter(
        parse=lambda raw, zone: raw[:254],
        schema=string_schema("The recipient's whole address, any case."),
    )
    account_id = id_filter("account_id")
    since = moment_filter("updated_at", "gte", "Last changed at or after.")
    until = moment_filter("updated_at", "lt", "Last changed before.")


class AttemptFilterSet(WorkspaceFilterSet):
    """The workspace's attempts, on the index (workspace, created_at)."""

    campaign_id = id_filter("campaign_id")
    delivery_id = id_filter("delivery_id")
    outcome = choice_filter("outcome", list(AttemptOutcome.values))
    account_id = id_filter("account_id")
    since = moment_filter("created_at", "gte", "Made at or after.")
    until = moment_filter("created_at", "lt", "Made before.")
