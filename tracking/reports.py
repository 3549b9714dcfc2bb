"""Reads for the reports: what came back for a campaign, a recipient and a workspace.

Every figure is an aggregate computed by the database (COUNT ... FILTER, GROUP BY); Python only
reshapes the few result rows (48 hours, the links, the domains). A campaign's events are read
through the index (campaign, kind, occurred_at), its deliveries through (campaign, status).

Counting: "unique" is per delivery (one person who opened five times counts once). "Human"
leaves out what `Event.machine` marks (privacy proxies, link scanners); "all" keeps them. A
click counts as an open too: a person who clicked read the message even when their client
blocked the pixel, so the click-to-open rate never passes 100 %.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import Lower, TruncDay, TruncHour
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Workspace
from audience.models import Recipient
from campaigns.models import Attempt, AttemptOutcome, Campaign, Delivery
from campaigns.selectors import email_domain, kept_sent
from core.keyset import KeysetPage, beyond, decode_cursor, encode_cursor, page_of
from core.single_flight import SingleFlight
from sending.models import SendingAccount
from tracking.models import BounceType, Event, EventKind

CHART_HOURS = 48
RATE_DAYS = 30
# Mailbox providers' bulk-sender limits (Gmail, Yahoo, Outlook.com): complaints must stay
# under 0.3 %; bounces over about 5 % get a sender throttled. Warn at WARN_SHARE of each.
COMPLAINT_LIMIT = 0.3
BOUNCE_LIMIT = 5.0
WARN_SHARE = 0.6

K = EventKind
_OPENED = Q(kind__in=(K.OPENED, K.CLICKED))
_HUMAN = Q(machine=False)


def _unique(condition: Q) -> Count:
    return Count("delivery_id", filter=condition, distinct=True)


def _rate(part: int, whole: int) -> float:
    return round(part * 100.0 / whole, 2) if whole else 0.0


# ----------------------------------------------------------------- campaign summary


@dataclass(frozen=True)
class Summary:
    sent: int
    delivered: int
    bounced: int
    bounced_hard: int
    bounced_soft: int
    complaints: int
    unsubscribes: int
    replies: int
    opens_human: int
    opens_all: int
    open_events: int
    clicks_human: int
    clicks_all: int
    click_events: int

    @property
    def open_rate(self) -> float:
        return _rate(self.opens_human, self.delivered)

    @property
    def click_rate(self) -> float:
        return _rate(self.clicks_human, self.delivered)

    @property
    def click_to_open_rate(self) -> float:
        return _rate(self.clicks_human, self.opens_human)

    @property
    def bounce_rate(self) -> float:
        return _rate(self.bounced, self.sent)

    @property
    def complaint_rate(self) -> float:
        return _rate(self.complaints, self.delivered)

    def as_dict(self) -> dict[str, Any]:
        """The counts, then the rates worked out from them."""
        rates = ("open_rate", "click_rate", "click_to_open_rate", "bounce_rate", "complaint_rate")
        return {**dataclasses.asdict(self), **{name: getattr(self, name) for name in rates}}


def _event_figures(events: QuerySet[Event]) -> dict[str, int]:
    return events.aggregate(
        bounced=_unique(Q(kind=K.BOUNCED)),
        bounced_hard=_unique(Q(kind=K.BOUNCED, bounce_type=BounceType.HARD)),
        complaints=_unique(Q(kind=K.COMPLAINED)),
        unsubscribes=_unique(Q(kind=K.UNSUBSCRIBED)),
        replies=_unique(Q(kind=K.REPLIED)),
        opens_human=_unique(_OPENED & _HUMAN),
        opens_all=_unique(_OPENED),
        open_events=Count("id", filter=Q(kind=K.OPENED)),
        clicks_human=_unique(Q(kind=K.CLICKED) & _HUMAN),
        clicks_all=_unique(Q(kind=K.CLICKED)),
        click_events=Count("id", filter=Q(kind=K.CLICKED)),
    )


def campaign_summary(campaign: Campaign) -> Summary:
    """The campaign's headline figures: two aggregate queries (one once it is frozen)."""
    kept = kept_sent(campaign)
    sent = (
        kept.total
        if kept
        else Delivery.objects.filter(campaign=campaign, sent_at__isnull=False).count()
    )
    ev = _event_figures(_campaign_events(campaign))
    hard = ev["bounced_hard"]
    return Summary(
        sent=sent,
        delivered=max(sent - ev["bounced"], 0),
        bounced_soft=ev["bounced"] - hard,
        **ev,
    )


def _campaign_events(campaign: Campaign) -> QuerySet[Event]:
    return Event.objects.filter(workspace_id=campaign.workspace_id, campaign=campaign)


# ----------------------------------------------------------------- first 48 hours


@dataclass(frozen=True)
class Hours:
    start: datetime | None
    labels: list[str]
    opens: list[int]
    clicks: list[int]

    def chart(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "series": {"opens": self.opens, "clicks": self.clicks},
            "names": {"opens": _("Opens"), "clicks": _("Clicks")},  # the legend's words
        }

    def rows(self) -> list[tuple[str, int, int]]:
        return list(zip(self.labels, self.opens, self.clicks, strict=True))


def campaign_hours(campaign: Campaign) -> Hours:
    """People who opened and clicked, per hour over the first 48 hours after the start
    (unique per delivery within each hour, machines left out)."""
    start = campaign.launched_at or Delivery.objects.filter(campaign=campaign).aggregate(
        first=Min("sent_at")
    ).get("first")
    # Hours since the start, in the reader's language ("+5h", "+5 ч").
    labels = [_("+%(hours)sh") % {"hours": h} for h in range(CHART_HOURS)]
    opens, clicks = [0] * CHART_HOURS, [0] * CHART_HOURS
    if start is None:
        return Hours(None, labels, opens, clicks)
    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows = (
        _campaign_events(campaign)
        .filter(
            kind__in=(K.OPENED, K.CLICKED),
            machine=False,
            occurred_at__gte=start,
            occurred_at__lt=start + timedelta(hours=CHART_HOURS),
        )
        .annotate(hour=TruncHour("occurred_at", tzinfo=UTC))
        .values("hour", "kind")
        .annotate(n=Count("delivery_id", distinct=True))
    )
    for row in rows:
        index = int((row["hour"].astimezone(UTC) - start).total_seconds() // 3600)
        if 0 <= index < CHART_HOURS:
            (opens if row["kind"] == K.OPENED else clicks)[index] = row["n"]
    return Hours(start, labels, opens, clicks)


# ----------------------------------------------------------------- links, domains, accounts


@dataclass(frozen=True)
class LinkRow:
    link_index: int | None
    url: str
    clicks_human: int
    clicks_all: int
    click_events: int


def campaign_links(campaign: Campaign) -> list[LinkRow]:
    rows = (
        _campaign_events(campaign)
        .filter(kind=K.CLICKED)
        .values("link_index")
        .annotate(
            url=Max("url"),
            clicks_human=_unique(_HUMAN),
            clicks_all=Count("delivery_id", distinct=True),
            click_events=Count("id"),
        )
        .order_by("-clicks_human", "link_index")
    )
    return [
        LinkRow(r["link_index"], r["url"], r["clicks_human"], r["clicks_all"], r["click_events"])
        for r in rows
    ]


@dataclass
class GroupRow:
    """One receiving domain's or one sending account's results (`key`: the domain, or the
    account's id until `campaign_accounts` names it)."""

    key: Any
    sent: int = 0
    bounced: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    opens_human: int = 0
    clicks_human: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        return max(self.sent - self.bounced, 0)

    @property
    def open_rate(self) -> float:
        return _rate(self.opens_human, self.delivered)

    @property
    def click_rate(self) -> float:
        return _rate(self.clicks_human, self.delivered)

    @property
    def bounce_rate(self) -> float:
        return _rate(self.bounced, self.sent)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "bounced": self.bounced,
            "complaints": self.complaints,
            "unsubscribes": self.unsubscribes,
            "opens_human": self.opens_human,
            "clicks_human": self.clicks_human,
            "open_rate": self.open_rate,
            "click_rate": self.click_rate,
            "bounce_rate": self.bounce_rate,
        }


_GROUP_EVENTS = {
    "bounced": _unique(Q(kind=K.BOUNCED)),
    "complaints": _unique(Q(kind=K.COMPLAINED)),
    "unsubscribes": _unique(Q(kind=K.UNSUBSCRIBED)),
    "opens_human": _unique(_OPENED & _HUMAN),
    "clicks_human": _unique(Q(kind=K.CLICKED) & _HUMAN),
}


def _sent_by(campaign: Campaign, key: str) -> dict[Any, int]:
    """Sent messages per `key` ("domain" or "account_id"): kept ones once the campaign is
    frozen (a few rows), else one GROUP BY over its sent deliveries."""
    kept = kept_sent(campaign)
    if kept:
        return kept.by_domain if key == "domain" else kept.by_account
    rows = (
        Delivery.objects.filter(campaign=campaign, sent_at__isnull=False)
        .annotate(domain=email_domain("email"))
        .order_by()
        .values_list(key)
        .annotate(n=Count("*"))
    )
    return dict(rows)


def _grouped(sent: dict[Any, int], events: QuerySet[Event], key: str) -> list[GroupRow]:
    groups = {k: GroupRow(key=k, sent=n) for k, n in sent.items()}
    for row in events.values(key).annotate(**_GROUP_EVENTS).order_by():
        group = groups.setdefault(row[key], GroupRow(key=row[key]))
        for name in _GROUP_EVENTS:
            setattr(group, name, row[name])
    return sorted(groups.values(), key=lambda g: (-g.sent, str(g.key)))


def campaign_domains(campaign: Campaign) -> list[GroupRow]:
    """Results per receiving domain (gmail.com, outlook.com, mail.ru, ...), most sent first."""
    events = _campaign_events(campaign).annotate(domain=email_domain("email"))
    return _grouped(_sent_by(campaign, "domain"), events, "domain")


def campaign_accounts(campaign: Campaign) -> list[GroupRow]:
    """Results per sending account (the account of each delivery; events carry it)."""
    rows = _grouped(_sent_by(campaign, "account_id"), _campaign_events(campaign), "account_id")
    names: dict[Any, str] = dict(
        SendingAccount.objects.filter(
            workspace_id=campaign.workspace_id, pk__in=[r.key for r in rows if r.key]
        ).values_list("pk", "name")
    )
    for row in rows:
        row.extra["account_id"] = row.key
        row.key = names.get(row.key, "—") if row.key else "—"
    return rows


@dataclass(frozen=True)
class Report:
    summary: Summary
    hours: Hours
    links: list[LinkRow]
    domains: list[GroupRow]
    accounts: list[GroupRow]
    computed_at: datetime


def campaign_report(campaign: Campaign) -> Report:
    """The whole report, computed now: a handful of aggregates over the campaign's events
    (and, until it is frozen, its deliveries)."""
    return Report(
        summary=campaign_summary(campaign),
        hours=campaign_hours(campaign),
        links=campaign_links(campaign),
        domains=campaign_domains(campaign),
        accounts=campaign_accounts(campaign),
        computed_at=timezone.now(),
    )


# Events keep coming for days after the last message went (opens, late bounces), so even a
# finished campaign's report is only kept for a minute; one request at a time computes it
# again. A million-delivery campaign's report reads about 300,000 events: about a second.
REPORT_FLIGHT = SingleFlight("report", ttl=60, computing=60)


def campaign_report_cached(campaign: Campaign) -> Report:
    """`campaign_report`, computed at most once a minute (core.single_flight): the page and
    the API show figures up to a minute old, and say from when."""
    return REPORT_FLIGHT.get(campaign.pk, lambda: campaign_report(campaign), Report)


def report_csv_rows(campaign: Campaign, part: str) -> list[list[Any]]:
    """One part of the campaign's report as CSV rows, header first (only that part's
    queries run)."""
    if part == "summary":
        figures = campaign_summary(campaign).as_dict()
        return [["figure", "value"], *([k, v] for k, v in figures.items())]
    if part == "hours":
        return [
            ["hour", "opens_human", "clicks_human"],
            *map(list, campaign_hours(campaign).rows()),
        ]
    if part == "links":
        return [
            ["link_index", "url", "clicks_human", "clicks_all", "click_events"],
            *(
                [r.link_index, r.url, r.clicks_human, r.clicks_all, r.click_events]
                for r in campaign_links(campaign)
            ),
        ]
    rows = campaign_domains(campaign) if part == "domains" else campaign_accounts(campaign)
    header = ["domain" if part == "domains" else "account", *GroupRow("").as_dict()]
    return [header, *([r.key, *r.as_dict().values()] for r in rows)]


CSV_PARTS = ("summary", "hours", "links", "domains", "accounts")


# ----------------------------------------------------------------- recipient timeline


@dataclass(frozen=True)
class Happening:
    at: datetime
    kind: str  # an EventKind value, or "attempt"
    campaign: str
    detail: str
    machine: bool = False
    # (ATTEMPT or EVENT, the row's id): after `at`, the timeline's order, and its cursors.
    place: tuple[int, int] = (0, 0)

    @property
    def order(self) -> tuple[datetime, int, int]:
        return (self.at, *self.place)


ATTEMPT, EVENT = 0, 1


def recipient_timeline(
    workspace: Workspace,
    recipient: Recipient,
    *,
    after: str = "",
    before: str = "",
    per_page: int = 50,
) -> KeysetPage[Happening]:
    """Everything that happened to `recipient`'s address, newest first: send attempts and
    events, merged, by keyset. `after` is a page's `next_cursor` (the older page), `before`
    its `previous_cursor` (the newer one). Each source reads one page and one row beyond it
    from where the cursor points, through its own index, so page 1,000 costs what page 1
    does; the order is (time, source, id), so rows of one time are neither lost nor shown
    twice between pages."""
    backwards = bool(before) and not after
    bound = _timeline_cursor(before if backwards else after)
    backwards = backwards and bound is not None  # a cursor not ours: the first page
    older = not backwards
    # Attempts have no index on the address: filtered by it, a person with less than a page
    # of them had the workspace's whole history read (20 million attempts: a second). Their
    # deliveries are found first (the recipient's own, and any other sent to the address,
    # through the deliveries' indexes on recipient and on sent addresses), then the attempts
    # by delivery. Left out: a try of a delivery to the address that was never sent and no
    # longer belongs to this recipient (one of a deleted recipient of the same address).
    deliveries = list(
        Delivery.objects.annotate(address=Lower("email"))
        .filter(
            Q(recipient_id=recipient.pk)
            | Q(address=recipient.email.lower(), sent_at__isnull=False),
            workspace=workspace,
        )
        .values_list("pk", flat=True)
    )
    attempts = Attempt.objects.filter(
        workspace=workspace, email=recipient.email, delivery_id__in=deliveries
    )
    events = Event.objects.filter(workspace=workspace, email=recipient.email)
    rows = [
        Happening(
            at,
            "attempt",
            name or "",
            f"{outcome} {code or ''} {reply[:200]}".strip(),
            place=(ATTEMPT, pk),
        )
        for at, pk, outcome, name, code, reply in _timeline_side(
            attempts, "created_at", ATTEMPT, bound, older, per_page
        ).values_list("created_at", "pk", "outcome", "campaign__name", "smtp_code", "reply")
    ]
    rows += [
        Happening(
            at,
            kind,
            name or "",
            " ".join(p for p in (bt, url, detail[:200]) if p),
            m,
            place=(EVENT, pk),
        )
        for at, pk, kind, name, bt, detail, url, m in _timeline_side(
            events, "occurred_at", EVENT, bound, older, per_page
        ).values_list(
            "occurred_at", "pk", "kind", "campaign__name", "bounce_type", "detail", "url", "machine"
        )
    ]
    rows.sort(key=lambda h: h.order, reverse=older)
    return page_of(
        rows[: per_page + 1], per_page, backwards=backwards, bounded=bound is not None, mark=_mark
    )


def _timeline_side(
    qs: QuerySet[Any],
    time_field: str,
    source: int,
    bound: tuple[datetime, int, int] | None,
    older: bool,
    size: int,
) -> QuerySet[Any]:
    """One source's rows beyond `bound` (older or newer), nearest first, a page and one."""
    direction = "-" if older else ""
    qs = qs.order_by(f"{direction}{time_field}", f"{direction}pk")
    if bound is not None:
        at, side, pk = bound
        if side == source:
            qs = beyond(qs, time_field, (at, pk), smaller=older)
        else:
            # At the bound's own time, the whole of one source comes before the other.
            same_time = source < side if older else source > side
            lookup = ("lte" if same_time else "lt") if older else ("gte" if same_time else "gt")
            qs = qs.filter(**{f"{time_field}__{lookup}": at})
    return qs[: size + 1]


def _mark(row: Happening) -> str:
    return encode_cursor([row.at.isoformat(), row.place[0]], row.place[1])


def _timeline_cursor(cursor: str) -> tuple[datetime, int, int] | None:
    """(time, source, id) of a timeline cursor; None when it is empty or not ours."""
    found = decode_cursor(cursor)
    if found is None:
        return None
    value, pk = found
    if not (isinstance(value, list) and len(value) == 2 and value[1] in (ATTEMPT, EVENT)):
        return None
    try:
        at = parse_datetime(value[0]) if isinstance(value[0], str) else None
    except ValueError:
        return None
    return None if at is None or timezone.is_naive(at) else (at, value[1], pk)


# ----------------------------------------------------------------- workspace rates


@dataclass(frozen=True)
class Rates:
    labels: list[str]
    bounce_rates: list[float]
    complaint_rates: list[float]
    bounce_rate: float  # over the whole 30 days
    complaint_rate: float
    sent: int

    @property
    def bounce_warning(self) -> bool:
        return self.sent > 0 and self.bounce_rate >= BOUNCE_LIMIT * WARN_SHARE

    @property
    def complaint_warning(self) -> bool:
        return self.sent > 0 and self.complaint_rate >= COMPLAINT_LIMIT * WARN_SHARE

    def chart(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "series": {"bounces": self.bounce_rates, "complaints": self.complaint_rates},
            "limits": {"bounces": BOUNCE_LIMIT, "complaints": COMPLAINT_LIMIT},
            "names": {"bounces": _("Bounces"), "complaints": _("Complaints")},
            "limit_names": {"bounces": _("Bounce limit"), "complaints": _("Complaint limit")},
        }


def workspace_rates(workspace: Workspace, *, now: datetime, days: int = RATE_DAYS) -> Rates:
    """Bounce and complaint rates per day over the last `days` days, days of the workspace's
    time zone (as its limits and dashboard count them): deliveries that bounced or
    complained that day over messages sent that day."""
    zone = workspace.zone
    first = now.astimezone(zone).date() - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=zone)
    # Messages sent per day from the attempts, through their index (workspace, created_at),
    # as the dashboard counts them; deliveries have no index by workspace and time.
    sent_rows = (
        Attempt.objects.filter(
            workspace=workspace, outcome=AttemptOutcome.SENT, created_at__gte=since
        )
        .annotate(day=TruncDay("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    event_rows = (
        Event.objects.filter(
            workspace=workspace,
            occurred_at__gte=since,
            kind__in=(K.BOUNCED, K.COMPLAINED),
        )
        .annotate(day=TruncDay("occurred_at", tzinfo=zone))
        .values("day")
        .annotate(
            bounced=_unique(Q(kind=K.BOUNCED)),
            complained=_unique(Q(kind=K.COMPLAINED)),
        )
        .order_by()
    )
    keys = [first + timedelta(days=i) for i in range(days)]
    sent = dict.fromkeys(keys, 0)
    bounced = dict.fromkeys(keys, 0)
    complained = dict.fromkeys(keys, 0)
    for row in sent_rows:
        sent[row["day"].date()] = row["n"]
    for row in event_rows:
        bounced[row["day"].date()] = row["bounced"]
        complained[row["day"].date()] = row["complained"]
    total = sum(sent.values())
    return Rates(
        labels=[k.isoformat() for k in keys],
        bounce_rates=[_rate(bounced[k], sent[k]) for k in keys],
        complaint_rates=[_rate(complained[k], sent[k]) for k in keys],
        bounce_rate=_rate(sum(bounced.values()), total),
        complaint_rate=_rate(sum(complained.values()), total),
        sent=total,
    )
