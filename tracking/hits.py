"""Opens and clicks: what a hit on the pixel or a tracked link records, and where a click goes.

A hit costs two statements: one read of the delivery (its campaign's frozen links are kept in
memory: frozen content never changes), which for a click also reads its opens and clicks of
the last seconds (to tell scanners apart), and one INSERT in autocommit. Nothing slow is
waited on: no lookup outside the database, no message to another process. The served
application answers hits in groups (tracking.batch, with `open_fact`/`click_fact` from here):
the same rules, with one read and one INSERT for the whole group.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import ReaderIps, Workspace
from audience.models import Recipient
from audience.selectors import recipient_values
from campaigns import links, tracked_links
from campaigns.models import Campaign, Delivery
from tracking import machines
from tracking.events import Fact, SentDelivery, record_hit
from tracking.models import Event, EventKind, EventSource

FROZEN_KEEP = 1024  # campaigns whose frozen links a process keeps


@dataclass(frozen=True)
class Frozen:
    """What a hit needs of a campaign's frozen content."""

    opens: bool
    clicks: bool
    links: tuple[tracked_links.Link, ...]
    utm: dict[str, str]


_frozen: OrderedDict[int, Frozen] = OrderedDict()
_frozen_lock = Lock()


def forget() -> None:
    """Forget the campaigns kept (tests, whose rolled-back ids come again)."""
    with _frozen_lock:
        _frozen.clear()


def frozen_of(campaign_id: int) -> Frozen | None:
    with _frozen_lock:
        kept = _frozen.get(campaign_id)
    if kept is not None:
        return kept
    content = Campaign.objects.filter(pk=campaign_id).values_list("content", flat=True).first()
    if content is None:
        return None
    tracking: dict[str, Any] = content.get("tracking") or {}
    kept = Frozen(
        opens=bool(tracking.get("opens")),
        clicks=bool(tracking.get("clicks")),
        links=tuple(tracked_links.Link(str(s), bool(h)) for s, h in content.get("links", [])),
        utm={str(k): str(v) for k, v in (content.get("utm") or {}).items()},
    )
    with _frozen_lock:
        _frozen[campaign_id] = kept
        while len(_frozen) > FROZEN_KEEP:
            _frozen.popitem(last=False)
    return kept


@dataclass(frozen=True)
class Hit:
    """A delivery as a hit sees it, and what its workspace keeps of readers' addresses; for
    a click, also what the machine rules ask of its opens and clicks of the last seconds."""

    delivery: SentDelivery
    reader_ips: str
    opened_recently: bool = False  # an open within the machine rules' window
    other_click_at: datetime | None = None  # the newest click on another link, in that window


def delivery_of(token: str, *, click: int | None = None, now: datetime | None = None) -> Hit | None:
    """The delivery a token names, or None if forged. With `click` (a link index), the same
    statement reads what the machine rules need of the delivery's recent opens and clicks.

    One statement written once: building it with the ORM (select_related, only) cost more
    CPU per hit than everything else the hit does, and every round trip to the database is
    waited on by the reader.
    """
    delivery_id = links.delivery_of(token)
    if delivery_id is None:
        return None
    with connection.cursor() as cursor:
        if click is None:
            cursor.execute(_DELIVERY_SQL, [delivery_id])
        else:
            ops = connection.ops
            now = now or timezone.now()
            # Bounded in time on purpose: on PostgreSQL the bounds (constants in the
            # statement) leave one monthly partition to plan, not all of them.
            since = ops.adapt_datetimefield_value(now - RECENT)
            until = ops.adapt_datetimefield_value(now)
            window = (since, until)
            params = (EventKind.CLICKED, click, *window, EventKind.OPENED, *window, delivery_id)
            cursor.execute(_CLICK_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, workspace_id, campaign_id, recipient_id, email, sent_at, reader_ips, account, *recent = row
    delivery = SentDelivery(
        pk, workspace_id, campaign_id, recipient_id, email, aware(sent_at), account
    )
    if not recent:
        return Hit(delivery, reader_ips)
    other_click_at, opened = recent
    return Hit(delivery, reader_ips, bool(opened), aware(other_click_at))


def aware(value: datetime | str | None) -> datetime | None:
    """A datetime as PostgreSQL gives it; SQLite's come naive in UTC, or as text from an
    aggregate."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


RECENT = timedelta(seconds=max(machines.SECONDS_TO_READ, machines.BURST_SECONDS))
_EVENTS = Event._meta.db_table
_SELECT = (
    "SELECT d.id, d.workspace_id, d.campaign_id, d.recipient_id, d.email, d.sent_at, "
    "w.reader_ips, d.account_id"
)
_FROM = (
    f" FROM {Delivery._meta.db_table} d "
    f"JOIN {Workspace._meta.db_table} w ON w.id = d.workspace_id WHERE d.id = %s"
)
_DELIVERY_SQL = _SELECT + _FROM
# The machine rules for a click look at the last click on another link and at whether the
# message was opened, both within the last seconds: two bounded subqueries of the same row.
_RECENT_SQL = (
    f", (SELECT MAX(e.occurred_at) FROM {_EVENTS} e WHERE e.delivery_id = d.id "  # noqa: S608
    "AND e.kind = %s AND (e.link_index IS NULL OR e.link_index <> %s) "
    "AND e.occurred_at >= %s AND e.occurred_at <= %s)"
    f", EXISTS (SELECT 1 FROM {_EVENTS} e WHERE e.delivery_id = d.id "
    "AND e.kind = %s AND e.occurred_at >= %s AND e.occurred_at <= %s)"
)
_CLICK_SQL = _SELECT + _RECENT_SQL + _FROM


def stored_ip(ip: str, setting: str) -> str | None:
    """The reader's address as the workspace keeps it: its network (IPv4 /24, IPv6 /48), or
    nothing."""
    if setting != ReaderIps.TRUNCATED:
        return None
    return _network_of(ip)


@functools.lru_cache(maxsize=4096)
def _network_of(ip: str) -> str | None:
    # Kept: parsing an address costs more than the rest of a hit's rules, and the same
    # proxies (Apple's, Gmail's) come back again and again.
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _since_sent(delivery: SentDelivery, now: datetime) -> float | None:
    return (now - delivery.sent_at).total_seconds() if delivery.sent_at else None


def open_fact(hit_of: Hit, *, user_agent: str, ip: str, now: datetime) -> Fact | None:
    """The open of the delivery a GET of its pixel records at `now`; None when its campaign
    does not track opens."""
    delivery = hit_of.delivery
    frozen = frozen_of(delivery.campaign_id)
    if frozen is None or not frozen.opens:
        return None
    hit = machines.Hit(user_agent, ip, _since_sent(delivery, now))
    return Fact(
        kind=EventKind.OPENED,
        source=EventSource.LINK,
        machine=machines.open_is_machine(hit),
        user_agent=user_agent,
        ip=stored_ip(ip, hit_of.reader_ips),
        occurred_at=now,
    )


def open_hit(hit_of: Hit, *, user_agent: str, ip: str) -> bool:
    """Record an open of the delivery; False when its campaign does not track opens."""
    fact = open_fact(hit_of, user_agent=user_agent, ip=ip, now=timezone.now())
    if fact is None:
        return False
    record_hit(fact, delivery=hit_of.delivery)
    return True


def click_target(delivery: SentDelivery, index: int) -> tuple[Frozen, str] | None:
    """Where link `index` of the delivery's campaign leads for this delivery, or None (no such
    link, or a personalised one that did not make an http(s) address)."""
    frozen = frozen_of(delivery.campaign_id)
    if frozen is None or not frozen.clicks or not 0 <= index < len(frozen.links):
        return None
    link = frozen.links[index]
    values: dict[str, str] = {}
    if "{" in link.source:  # personalised: filled with the delivery's values, as sent
        recipient = (
            Recipient.objects.filter(pk=delivery.recipient_id).first()
            if delivery.recipient_id
            else None
        )
        values = recipient_values(recipient) if recipient is not None else {}
        values["email"] = delivery.email
    url = tracked_links.fill(link, values)
    if not tracked_links.is_followable(url):
        return None
    return frozen, tracked_links.with_utm(url, frozen.utm)


def click_fact(
    hit_of: Hit, index: int, url: str, *, user_agent: str, ip: str, now: datetime
) -> Fact:
    """The click on link `index` of the delivery, leading to `url`, that a GET records at
    `now`; `hit_of` tells what the machine rules ask of its recent opens and clicks."""
    delivery = hit_of.delivery
    other = hit_of.other_click_at
    hit = machines.Hit(
        user_agent,
        ip,
        _since_sent(delivery, now),
        # Enough: the too-soon rule only asks within SECONDS_TO_READ of sending.
        opened_before=hit_of.opened_recently,
        seconds_since_other_click=(now - other).total_seconds() if other else None,
    )
    return Fact(
        kind=EventKind.CLICKED,
        source=EventSource.LINK,
        link_index=index,
        url=url,
        machine=machines.click_is_machine(hit),
        user_agent=user_agent,
        ip=stored_ip(ip, hit_of.reader_ips),
        occurred_at=now,
    )


def click_hit(hit_of: Hit, index: int, url: str, *, user_agent: str, ip: str) -> None:
    """Record a click on link `index` of the delivery, leading to `url`; `hit_of` is read
    with `delivery_of(token, click=index)`."""
    now = timezone.now()
    fact = click_fact(hit_of, index, url, user_agent=user_agent, ip=ip, now=now)
    record_hit(fact, delivery=hit_of.delivery)
