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
from django.db.models import Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Value

from audience.models import ListMembership, Recipient, RecipientStatus, Suppression
from audience.selectors import RecipientFilter, recipients_matching, segment_q
from campaigns.models import Campaign, Delivery, DeliveryStatus

# A launch that inserts more deliveries than this refreshes the table's statistics.
ANALYZE_AFTER = 10_000


def audience_sources(campaign: Campaign) -> list[Q]:
    """One condition per source of the audience: each list, each segment, the picked rows.

    Each is a correlated EXISTS, which costs one index probe per recipient. `pk IN (subquery)`
    would read better, but PostgreSQL cannot hash a million-row subquery inside an OR or a
    COUNT … FILTER within work_mem and falls back to scanning it for every row: quadratic.
    """
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
    figures = audience_union(campaign, sources).aggregate(
        total=Count("pk"),
        inactive=Count("pk", filter=~active),
        suppressed=Count("pk", filter=active & Q(is_suppressed())),
        **{f"source{i}": Count("pk", filter=source) for i, source in enumerate(sources)},
    )
    total, inactive, suppressed = figures["total"], figures["inactive"], figures["suppressed"]
    selected = sum(figures[f"source{i}"] for i in range(len(sources)))
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

    Idempotent: deliveries that exist are kept as they are. Raises audience.segments.
    SegmentError if one of its segments no longer compiles (nothing is inserted then).
    """
    sources = audience_sources(campaign)
    count = audience_count(campaign, sources)
    # Django writes the SELECT, constants included, so values are adapted for each database.
    rows = (
        reachable(campaign, sources)
        .order_by()
        .annotate(
            _workspace=Value(campaign.workspace_id),
            _campaign=Value(campaign.pk),
            _status=Value(str(DeliveryStatus.QUEUED)),
            _zero=Value(0),
            _now=Value(now, output_field=DateTimeField()),
            _blank=Value(""),
        )
        .values_list(
            "_workspace",
            "_campaign",
            "pk",
            "email",
            "_status",
            "_zero",
            "_now",
            "_blank",
            "_blank",
            "_blank",
            "_blank",
            "_now",
        )
    )
    sql, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    statement = (
        f"INSERT INTO {table} (workspace_id, campaign_id, recipient_id, email, status,"
        " attempts, next_attempt_at, lease_owner, message_id, last_enhanced_code, last_reply,"
        f" updated_at) {sql} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        inserted = cursor.rowcount
        if connection.vendor == "postgresql" and inserted > ANALYZE_AFTER:
            # Fresh statistics, or the planner takes a million new rows for one and picks
            # plans that sort them all on every claim.
            cursor.execute(f"ANALYZE {table}")
    Campaign.objects.filter(pk=campaign.pk).update(
        audience_total=count.reachable,
        excluded_suppressed=count.suppressed,
        excluded_unsubscribed=count.unsubscribed,
        excluded_duplicates=count.duplicates,
        launched_at=now,
    )
    return LaunchResult(inserted=inserted, count=count)
