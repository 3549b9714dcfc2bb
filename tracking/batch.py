"""Many opens and clicks answered together: one read of their deliveries, one INSERT.

`answer` does for a group of hits what `hits.delivery_of` and `open_hit`/`click_hit` do for
one, with the same outcome for each: the same 404s, the same link, the same machine rules.
Costs: one statement reads every delivery of the group with its workspace's address setting;
when the group holds clicks, one more reads the opens and clicks of those deliveries in the
machine rules' window; one multi-row INSERT stores every event (one commit in autocommit).
A click also sees the hits before it in the same group, as it would have seen them in the
database had they come one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import connection

from accounts.models import Workspace
from campaigns.models import Delivery
from core.sql import id_array
from tracking import hits, prepared
from tracking.events import Fact, SentDelivery, record_hits
from tracking.models import Event, EventKind


@dataclass(frozen=True)
class Ask:
    """One hit as it arrived: the pixel (`index` None) or link `index` of a delivery."""

    delivery_id: int
    index: int | None
    user_agent: str
    ip: str
    at: datetime  # when it arrived
    record: bool = True  # a GET; a HEAD reads nothing and records nothing


@dataclass(frozen=True)
class Answer:
    found: bool  # False: answer 404
    url: str = ""  # where a click leads


NOT_FOUND = Answer(found=False)


def answer(asks: Sequence[Ask]) -> list[Answer]:
    """The answer to each hit, in order, once every event they record is stored."""
    if not asks:
        return []
    deliveries, recent = _read(asks)
    answers: list[Answer] = []
    facts: list[tuple[Fact, SentDelivery]] = []
    for ask in asks:
        found = deliveries.get(ask.delivery_id)
        if found is None:
            answers.append(NOT_FOUND)
            continue
        fact: Fact | None
        if ask.index is None:
            answers.append(Answer(found=True))
            fact = (
                hits.open_fact(found, user_agent=ask.user_agent, ip=ask.ip, now=ask.at)
                if ask.record
                else None
            )
        else:
            target = hits.click_target(found.delivery, ask.index)
            if target is None:
                answers.append(NOT_FOUND)
                continue
            url = target[1]
            answers.append(Answer(found=True, url=url))
            fact = None
            if ask.record:
                seen = recent.get(ask.delivery_id, [])
                hit_of = _with_recent(found, seen, ask.index, ask.at)
                fact = hits.click_fact(
                    hit_of, ask.index, url, user_agent=ask.user_agent, ip=ask.ip, now=ask.at
                )
        if fact is not None:
            facts.append((fact, found.delivery))
            recent.setdefault(ask.delivery_id, []).append((fact.kind, fact.link_index, ask.at))
    record_hits(facts)
    return answers


Seen = list[tuple[str, int | None, datetime]]  # (kind, link index, when) of recent events


def _read(asks: Sequence[Ask]) -> tuple[dict[int, hits.Hit], dict[int, Seen]]:
    """The deliveries the hits name, and for those clicked the opens and clicks in the machine
    rules' window: one statement (its second half only when the group holds clicks)."""
    ids = sorted({ask.delivery_id for ask in asks})
    clicks = [ask for ask in asks if ask.index is not None and ask.record]
    postgres = connection.vendor == "postgresql"
    if not clicks:
        if postgres:
            rows = prepared.execute(_DELIVERIES_SQL, [id_array(ids)], fetch=True)
        else:
            rows = prepared.execute(_in(_DELIVERIES_LITE, ids), ids, fetch=True)
    else:
        clicked = sorted({ask.delivery_id for ask in clicks})
        ops = connection.ops
        since = ops.adapt_datetimefield_value(min(ask.at for ask in clicks) - hits.RECENT)
        until = ops.adapt_datetimefield_value(max(ask.at for ask in clicks))
        window = [str(EventKind.OPENED), str(EventKind.CLICKED), since, until]
        if postgres:
            params = [id_array(ids), id_array(clicked), *window]
            rows = prepared.execute(_BOTH_SQL, params, fetch=True)
        else:
            sql = _in(_in(_BOTH_LITE, ids), clicked)
            rows = prepared.execute(sql, [*ids, *clicked, *window], fetch=True)
    found: dict[int, hits.Hit] = {}
    seen: dict[int, Seen] = {}
    for pk, workspace_id, campaign_id, recipient_id, email, sent_at, ips, account, *event in rows:
        if event and event[0] is not None:  # an open or a click of the delivery `pk`
            kind, link_index, occurred_at = event
            when = hits.aware(occurred_at)
            if when is not None:
                seen.setdefault(pk, []).append((kind, link_index, when))
            continue
        delivery = SentDelivery(
            pk, workspace_id, campaign_id, recipient_id, email, hits.aware(sent_at), account
        )
        found[pk] = hits.Hit(delivery, ips)
    return found, seen


def _with_recent(found: hits.Hit, seen: Seen, index: int, at: datetime) -> hits.Hit:
    """`found` with what the machine rules ask of the events seen within the window before
    `at`, as `hits.delivery_of(token, click=index)` reads them."""
    since = at - hits.RECENT
    window = [(kind, link, when) for kind, link, when in seen if since <= when <= at]
    opened = any(kind == EventKind.OPENED for kind, _link, _when in window)
    others = [when for kind, link, when in window if kind == EventKind.CLICKED and link != index]
    return replace(found, opened_recently=opened, other_click_at=max(others, default=None))


def _in(sql: str, ids: list[int]) -> str:
    return sql.replace("(%s)", f"({', '.join(['%s'] * len(ids))})", 1)


_EVENTS = Event._meta.db_table
_DELIVERIES_LITE = (
    "SELECT d.id, d.workspace_id, d.campaign_id, d.recipient_id, d.email, d.sent_at, "  # noqa: S608
    f"w.reader_ips, d.account_id FROM {Delivery._meta.db_table} d "
    f"JOIN {Workspace._meta.db_table} w ON w.id = d.workspace_id WHERE d.id IN (%s)"
)
# One statement for any number of deliveries (an array), so that one prepared plan serves all.
_DELIVERIES_SQL = _DELIVERIES_LITE.replace("IN (%s)", "= ANY(%s::bigint[])")
# The deliveries, then the recent opens and clicks of those clicked (in the same columns,
# told apart by a kind).
_BOTH_LITE = (
    _DELIVERIES_LITE.replace(" FROM", ", NULL, NULL, NULL FROM", 1)  # noqa: S608 - our names
    + " UNION ALL SELECT e.delivery_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "  # noqa: S608
    f"e.kind, e.link_index, e.occurred_at FROM {_EVENTS} e "
    "WHERE e.delivery_id IN (%s) AND e.kind IN (%s, %s) "
    "AND e.occurred_at >= %s AND e.occurred_at <= %s"
)
_BOTH_SQL = _BOTH_LITE.replace("IN (%s)", "= ANY(%s::bigint[])", 2)
