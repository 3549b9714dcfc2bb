"""Launch: turn a campaign's audience into deliveries with one INSERT … SELECT.

The audience (the union of lists, segments and picked recipients) is resolved in the database,
never in a Python loop, so launching a million recipients costs one statement and constant
memory.
Addresses that are suppressed, or recipients who are not active, are left out and counted.
Launching twice inserts nothing twice (ON CONFLICT DO NOTHING on (campaign, recipient)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Mod

from audience.models import (
    ListMembership,
    Recipient,
    RecipientStatus,
    Suppression,
)
from audience.selectors import RecipientFilter, recipients_matching, segment_q
from audience.statistics import refresh_stale_statistics
from campaigns.models import (
    AB_VARIANTS_MIN,
    AbTest,
    AbTestState,
    Campaign,
    Delivery,
    ResendRecipient,
    Variant,
)
from campaigns.queueing import insert_deliveries

# A launch that inserts more deliveries than this refreshes the table's statistics.
ANALYZE_AFTER = 10_000


def audience_sources(campaign: Campaign) -> list[Q]:
    """One condition per source of the audience: each list, each segment, the picked rows;
    for a resend, only its fixed recipient set.

    Each is a correlated EXISTS, which costs one index probe per recipient. `pk IN (subquery)`
    would read better, but PostgreSQL cannot hash a million-row subquery inside an OR or a
    COUNT … FILTER within work_mem and falls back to scanning it for every row: quadratic.
    """
    if campaign.resend_kind:
        # A resend's audience was fixed when it was made: those rows only.
        fixed = ResendRecipient.objects.filter(campaign_id=campaign.pk, recipient_id=OuterRef("pk"))
        return [Q(Exists(fixed))]
    workspace = campaign.workspace
    sources: list[Q] = []
    for list_id in campaign.lists.values_list("pk", flat=True):
        members = ListMembership.objects.filter(
            recipient_id=OuterRef("pk"),
            recipient_list_id=list_id,
            recipient_list__workspace=workspace,
        )
        sources.append(Q(Exists(members)))
    for segment in campaign.segments.filter(workspace=workspace):
        matching = Recipient.objects.filter(pk=OuterRef("pk"), workspace=workspace)
        sources.append(Q(Exists(matching.filter(segment_q(workspace, segment.definition)))))
    if campaign.picked:
        picked = recipients_matching(workspace, RecipientFilter.from_params(campaign.picked))
        sources.append(Q(Exists(picked.filter(pk=OuterRef("pk")))))
    return sources


def audience_union(campaign: Campaign, sources: list[Q] | None = None) -> QuerySet[Recipient]:
    """Every recipient any source selects, once."""
    sources = audience_sources(campaign) if sources is None else sources
    base = Recipient.objects.filter(workspace=campaign.workspace)
    if not sources:
        return base.none()
    union = Q()
    for source in sources:
        union |= source
    return base.filter(union)


def is_suppressed() -> Exists:
    """Whether the recipient's address is on its workspace's suppression list (index probe)."""
    return Exists(
        Suppression.objects.filter(workspace_id=OuterRef("workspace_id"), email=OuterRef("email"))
    )


def reachable(campaign: Campaign, sources: list[Q] | None = None) -> QuerySet[Recipient]:
    """The recipients the campaign will send to: active, and not on the suppression list."""
    return (
        audience_union(campaign, sources)
        .filter(status=RecipientStatus.ACTIVE)
        .exclude(is_suppressed())
    )


@dataclass(frozen=True)
class AudienceCount:
    """What the campaign page shows before the start."""

    reachable: int
    suppressed: int
    unsubscribed: int  # not active: unsubscribed, bounced or complained
    duplicates: int  # selected by more than one source

    @property
    def left_out(self) -> int:
        return self.suppressed + self.unsubscribed + self.duplicates


def audience_count(campaign: Campaign, sources: list[Q] | None = None) -> AudienceCount:
    """Every figure in one pass over the audience (a million recipients: one scan, not five)."""
    sources = audience_sources(campaign) if sources is None else sources
    active = Q(status=RecipientStatus.ACTIVE)
    # Duplicates need a count per source, which probes every source again for each
    # recipient; one source (the usual campaign: one list) has none, and skips them.
    per_source = len(sources) > 1
    figures = audience_union(campaign, sources).aggregate(
        total=Count("pk"),
        inactive=Count("pk", filter=~active),
        suppressed=Count("pk", filter=active & Q(is_suppressed())),
        **(
            {f"source{i}": Count("pk", filter=source) for i, source in enumerate(sources)}
            if per_source
            else {}
        ),
    )
    total, inactive, suppressed = figures["total"], figures["inactive"], figures["suppressed"]
    selected = sum(figures[f"source{i}"] for i in range(len(sources))) if per_source else total
    return AudienceCount(
        reachable=total - inactive - suppressed,
        suppressed=suppressed,
        unsubscribed=inactive,
        duplicates=selected - total,
    )


@dataclass(frozen=True)
class LaunchResult:
    inserted: int
    count: AudienceCount


@transaction.atomic
def launch(*, campaign: Campaign, now: datetime) -> LaunchResult:
    """Create the deliveries of `campaign`, due at `now`, and record who was left out.

    A campaign with a planned A/B test gets only its test share's deliveries, split evenly
    between its variants, and its test moves to `testing` (`launch_rest` sends the winner to
    the others). Idempotent: deliveries that exist are kept as they are. Raises
    audience.segments.SegmentError if one of its segments no longer compiles (nothing is
    inserted then).
    """
    refresh_stale_statistics()  # before planning: stale statistics make the plan quadratic
    sources = audience_sources(campaign)
    count = audience_count(campaign, sources)
    test = (
        AbTest.objects.select_for_update()
        .filter(campaign_id=campaign.pk, state=AbTestState.PLANNED)
        .first()
    )
    variants = list(Variant.objects.filter(campaign_id=campaign.pk)) if test else []
    if test is not None and len(variants) >= AB_VARIANTS_MIN:
        inserted = _launch_test_share(campaign, sources, count, test, variants, now)
    else:
        inserted = _insert(reachable(campaign, sources), campaign, now, variant_id=None)
    _record_count(campaign, count, launched_at=now)
    return LaunchResult(inserted=inserted, count=count)


def test_share_sizes(reachable: int, percent: int, variants: int) -> int:
    """How many recipients each variant goes to: an even split of `percent` of the audience
    (rounded down, at least one each while the audience has room)."""
    each = reachable * percent // 100 // variants
    return max(each, 1) if reachable >= variants else 0


def _launch_test_share(
    campaign: Campaign,
    sources: list[Q],
    count: AudienceCount,
    test: AbTest,
    variants: list[Variant],
    now: datetime,
) -> int:
    """Insert the test share: the audience in the test's seeded order, cut into one slice per
    variant (a few statements, whatever the audience's size)."""
    each = test_share_sizes(count.reachable, test.test_percent, len(variants))
    ordered = reachable(campaign, sources).order_by(shuffled(test.seed), "pk")
    inserted = 0
    for index, variant in enumerate(variants):
        rows = ordered[index * each : (index + 1) * each]
        inserted += _insert(rows, campaign, now, variant_id=variant.pk)
    AbTest.objects.filter(pk=test.pk).update(state=AbTestState.TESTING)
    return inserted


def shuffled(seed: int) -> Mod:
    """A seeded shuffle of recipients that every database computes alike: a multiplicative
    hash of the primary key, modulo a prime (fits in 64 bits for any realistic key)."""
    return Mod(F("pk") * Value(2_654_435_761) + Value(seed), Value(4_294_967_311))


@transaction.atomic
def launch_rest(*, campaign: Campaign, variant: Variant, now: datetime) -> int:
    """Create the deliveries of everyone the A/B test's share did not reach, carrying
    `variant`; those with a delivery already are left as they are (ON CONFLICT), so nobody
    gets two messages. The caller moves the test to `decided` in the same transaction."""
    sources = audience_sources(campaign)
    count = audience_count(campaign, sources)
    inserted = _insert(reachable(campaign, sources), campaign, now, variant_id=variant.pk)
    _record_count(campaign, count, launched_at=None)
    return inserted


def _record_count(campaign: Campaign, count: AudienceCount, launched_at: datetime | None) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(
        audience_total=count.reachable,
        excluded_suppressed=count.suppressed,
        excluded_unsubscribed=count.unsubscribed,
        excluded_duplicates=count.duplicates,
        **({"launched_at": launched_at} if launched_at is not None else {}),
    )


def _insert(
    recipients: QuerySet[Recipient], campaign: Campaign, now: datetime, variant_id: int | None
) -> int:
    """INSERT … SELECT the deliveries of `recipients`; returns how many were new."""
    inserted = insert_deliveries(
        recipients,
        workspace=Value(campaign.workspace_id),
        recipient="pk",
        email="email",
        campaign_id=campaign.pk,
        now=now,
        variant_id=variant_id,
    )
    if connection.vendor == "postgresql" and inserted > ANALYZE_AFTER:
        # Fresh statistics, or the planner takes a million new rows for one and picks
        # plans that sort them all on every claim.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Delivery._meta.db_table)}")
    return inserted
