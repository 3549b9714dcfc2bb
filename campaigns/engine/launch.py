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

from audience.models import (
    ListMembership,
    Recipient,
    RecipientList,
    RecipientStatus,
    Suppression,
)
from audience.selectors import RecipientFilter, recipients_matching, segment_q
from campaigns.models import Campaign, Delivery, DeliveryStatus, ResendRecipient

# A launch that inserts more deliveries than this refreshes the table's statistics.
ANALYZE_AFTER = 10_000
# The tables the audience's plan reads. Statistics taken when one was much smaller (a test
# database analyzed while nearly empty, a workspace that imported its audience minutes ago)
# say the campaign's list or workspace has no rows; PostgreSQL then probes the list's members
# by list alone for every recipient (a nested loop that scans the whole list per recipient:
# quadratic, 20,000 recipients ran for more than 300 s). Fresh statistics make it probe the
# (list, recipient) index: linear.
AUDIENCE_TABLES = (Recipient, ListMembership, RecipientList, Suppression)
# A table counts as grown past its statistics when it has more than twice the pages they
# counted, plus this many (64 KB: small tables are not worth an ANALYZE).
STALE_SLACK_PAGES = 8


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


def refresh_stale_statistics() -> list[str]:
    """ANALYZE each audience table whose statistics no longer describe it: never analyzed,
    grown past twice the size they counted, or changed by more rows than they counted.
    Returns the tables analyzed. PostgreSQL only (SQLite plans need no statistics here).

    Checking costs one catalog query; an ANALYZE samples at most 30,000 rows (a fraction of
    a second on a million recipients) and happens only after such a change.
    """
    if connection.vendor != "postgresql":
        return []
    tables = [model._meta.db_table for model in AUDIENCE_TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c"
            " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.oid IN (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)"
            " AND (c.reltuples < 0"
            "  OR pg_relation_size(c.oid) / current_setting('block_size')::int"
            "     > 2 * c.relpages + %s"
            "  OR coalesce(s.n_mod_since_analyze, 0) > greatest(c.reltuples, 1000))",
            [tables, STALE_SLACK_PAGES],
        )
        stale = [name for (name,) in cursor.fetchall()]
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale


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
    refresh_stale_statistics()  # before planning: stale statistics make the plan quadratic
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
