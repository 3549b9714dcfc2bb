"""Reads for A/B tests: each variant's test share figures, from the deliveries and the
tracking events (people only: machine opens and scanner clicks are left out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from automation.ab_wait import wait_ends_at
from automation.statistics import VariantFigures, Verdict, verdict
from campaigns.models import AbCriterion, AbTest, Campaign, Delivery, Variant
from tracking.models import Event, EventKind

KIND_OF = {
    AbCriterion.OPENS: EventKind.OPENED,
    AbCriterion.CLICKS: EventKind.CLICKED,
    AbCriterion.REPLIES: EventKind.REPLIED,
}


def measure_name(criterion: str) -> str:
    """The rate the criterion compares, as the verdict's sentence names it."""
    return {
        AbCriterion.OPENS: _("open rate"),
        AbCriterion.CLICKS: _("click rate"),
        AbCriterion.REPLIES: _("reply rate"),
    }[AbCriterion(criterion)]


def variant_figures(test: AbTest) -> list[VariantFigures]:
    """Each variant's test share: deliveries sent, and unique people who did what the test
    counts. After the decision the rest's deliveries (which carry the winner) are left out."""
    deliveries = Delivery.objects.filter(campaign_id=test.campaign_id, variant__isnull=False)
    events = Event.objects.filter(
        campaign_id=test.campaign_id,
        kind=KIND_OF[AbCriterion(test.criterion)],
        delivery__variant__isnull=False,
    )
    if test.criterion != AbCriterion.REPLIES:  # a reply is a person's; opens may be machines'
        events = events.filter(machine=False)
    if test.test_last_delivery_id is not None:
        deliveries = deliveries.filter(pk__lte=test.test_last_delivery_id)
        events = events.filter(delivery_id__lte=test.test_last_delivery_id)
    sent = dict(
        deliveries.values("variant_id")
        .annotate(n=Count("pk", filter=Q(sent_at__isnull=False)))
        .values_list("variant_id", "n")
    )
    people = dict(
        events.values("delivery__variant_id")
        .annotate(n=Count("delivery_id", distinct=True))
        .values_list("delivery__variant_id", "n")
    )
    return [
        VariantFigures(v.position, v.label, sent.get(v.pk, 0), people.get(v.pk, 0))
        for v in Variant.objects.filter(campaign_id=test.campaign_id)
    ]


@dataclass(frozen=True)
class AbReport:
    campaign: Campaign
    test: AbTest
    variants: list[Variant]
    rows: list[tuple[Variant, VariantFigures]]
    verdict: Verdict | None
    ends_at: datetime | None


def ab_test_get(workspace: Workspace, campaign_pk: int) -> AbTest | None:
    """The A/B test of the workspace's campaign; None for another workspace's campaign or
    one without a test."""
    return (
        AbTest.objects.select_related("campaign", "winner")
        .filter(workspace=workspace, campaign_id=campaign_pk, campaign__workspace=workspace)
        .first()
    )


def ab_report(workspace: Workspace, campaign_pk: int) -> AbReport | None:
    """The A/B test of the workspace's campaign with its figures; None as ab_test_get."""
    test = ab_test_get(workspace, campaign_pk)
    if test is None:
        return None
    variants = list(Variant.objects.filter(campaign_id=campaign_pk))
    figures = variant_figures(test)
    by_position = {f.position: f for f in figures}
    rows = [(v, by_position[v.position]) for v in variants if v.position in by_position]
    ends_at = wait_ends_at(test, timezone.now())
    found = verdict(figures, measure_name(test.criterion)) if figures else None
    return AbReport(test.campaign, test, variants, rows, found, ends_at)
