"""Recording what came back: the one way an `Event` row is written.

Every source (tracking links, the bounce mailbox, e-mail services' webhooks) calls `record`;
the rules that act on a fact (suppress a hard-bounced address, pause a campaign whose
complaints run high) read the row it returns, so a fact is stored before anything acts on it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Delivery
from tracking import prepared
from tracking.models import Event, EventKind, EventSource


@dataclass(frozen=True)
class Fact:
    """What a source saw, before it is tied to a workspace's delivery."""

    kind: EventKind
    source: EventSource
    email: str = ""
    sender: str = ""  # a reply's author, where it came from a mailbox
    bounce_type: str = ""
    status_code: str = ""
    detail: str = ""
    link_index: int | None = None
    url: str = ""
    machine: bool = False
    source_detail: str = ""
    user_agent: str = ""
    ip: str | None = None
    dedupe_key: str = ""
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SentDelivery:
    """What an open or a click reads of its delivery: a Django model instance costs more to
    make than the rest of the hit."""

    pk: int
    workspace_id: int
    campaign_id: int
    recipient_id: int | None
    email: str
    sent_at: dt.datetime | None
    account_id: int | None


@transaction.atomic
def record(
    fact: Fact, *, delivery: Delivery | None = None, workspace_id: int | None = None
) -> Event | None:
    """Store `fact` about `delivery` (or, where no delivery is known, about an address of
    `workspace_id`); None when the same fact (same non-empty `dedupe_key`) is stored already.
    """
    if delivery is not None:
        workspace_id = delivery.workspace_id
    if workspace_id is None:
        raise ValueError("an event needs a delivery or a workspace")
    if (
        fact.dedupe_key
        and Event.objects.filter(workspace_id=workspace_id, dedupe_key=fact.dedupe_key).exists()
    ):
        return None
    event = _event(fact, delivery, workspace_id)
    event.save(force_insert=True)
    return event


def record_many(facts: list[tuple[Delivery, Fact]]) -> list[Event]:
    """Store many facts about deliveries in one INSERT (within the caller's transaction);
    returns the events stored, with their ids, in order. Like `record`, a fact whose non-empty
    `dedupe_key` is stored already (or comes twice here) is left out: one read finds them.

    The event table has no unique key on `dedupe_key` (partitioned by time on PostgreSQL, its
    unique keys must hold `occurred_at`), so this read is the check; callers that may race
    (two polls of a mailbox) hold a unique row of their own in the same transaction.
    """
    keys_by_workspace: dict[int, set[str]] = {}
    for delivery, fact in facts:
        if fact.dedupe_key:
            keys_by_workspace.setdefault(delivery.workspace_id, set()).add(fact.dedupe_key[:200])
    stored: set[tuple[int, str]] = set()
    for workspace_id, keys in keys_by_workspace.items():
        found = Event.objects.filter(workspace_id=workspace_id, dedupe_key__in=keys)
        stored.update((workspace_id, k) for k in found.values_list("dedupe_key", flat=True))
    rows = []
    for delivery, fact in facts:
        key = (delivery.workspace_id, fact.dedupe_key[:200])
        if fact.dedupe_key:
            if key in stored:
                continue
            stored.add(key)
        rows.append(_event(fact, delivery, delivery.workspace_id))
    return Event.objects.bulk_create(rows) if rows else []


def _event(fact: Fact, delivery: Delivery | None, workspace_id: int) -> Event:
    """The row of `fact` (about `delivery`, or only an address of `workspace_id`), unsaved."""
    return Event(
        workspace_id=workspace_id,
        campaign_id=delivery.campaign_id if delivery else None,
        delivery_id=delivery.pk if delivery else None,
        account_id=delivery.account_id if delivery else None,
        # Lowercased as recipients are: a service that reports "Ann@Example.com" about no
        # delivery of ours still suppresses and marks the person, and erasure finds the row.
        email=(delivery.email if delivery else fact.email.strip().lower())[:254],
        sender=fact.sender[:254],
        kind=fact.kind,
        bounce_type=fact.bounce_type,
        status_code=fact.status_code[:16],
        detail=fact.detail[:1000],
        link_index=fact.link_index,
        url=fact.url[:2000],
        machine=fact.machine,
        source=fact.source,
        source_detail=fact.source_detail[:120],
        user_agent=fact.user_agent[:500],
        ip=fact.ip,
        dedupe_key=fact.dedupe_key[:200],
        occurred_at=fact.occurred_at or timezone.now(),
    )


# The columns an open or a click fills, in the order `record_hit` passes them.
_HIT_COLUMNS = (
    "workspace_id", "campaign_id", "delivery_id", "account_id", "email", "kind", "bounce_type",
    "status_code", "detail", "link_index", "url", "machine", "source", "source_detail",
    "user_agent", "ip", "dedupe_key", "occurred_at", "created_at",
)  # fmt: skip
_HIT_SQL = (
    f"INSERT INTO {Event._meta.db_table} ({', '.join(_HIT_COLUMNS)}) "  # noqa: S608 - our names
    f"VALUES ({', '.join(['%s'] * len(_HIT_COLUMNS))})"
)


def record_hit(fact: Fact, *, delivery: Delivery | SentDelivery) -> None:
    """Store an open or a click: one INSERT, no ORM object and no transaction of its own (in
    autocommit the statement is its own). Opens and clicks have no dedupe key (a second open
    is a fact) and no rule acts on them (`rules.decide` says NOTHING), so nothing is read
    first and nothing follows. Same columns and truncations as `record`."""
    with connection.cursor() as cursor:
        cursor.execute(_HIT_SQL, _hit_values(fact, delivery, timezone.now()))


def record_hits(facts: Sequence[tuple[Fact, Delivery | SentDelivery]]) -> None:
    """Store many opens and clicks in one INSERT, as `record_hit` stores one: in autocommit
    they are committed together or not at all. On PostgreSQL the rows go as one JSON
    parameter of one prepared statement for any number of rows: neither parsed nor planned
    again for every group, and one parameter costs the driver far less to send than a
    column each (psycopg dumps arrays in Python)."""
    now = timezone.now()
    if not facts:
        return
    if connection.vendor == "postgresql":
        rows = [_hit_values(fact, delivery, now, text=True) for fact, delivery in facts]
        prepared.execute(_HITS_JSON_SQL, [json.dumps(rows)])
    else:
        values = [v for fact, delivery in facts for v in _hit_values(fact, delivery, now)]
        prepared.execute(_hits_sql(len(facts)), values)


@functools.lru_cache(maxsize=128)
def _hits_sql(rows: int) -> str:
    one = f"({', '.join(['%s'] * len(_HIT_COLUMNS))})"
    return f"INSERT INTO {Event._meta.db_table} ({', '.join(_HIT_COLUMNS)}) VALUES " + ", ".join(  # noqa: S608
        [one] * rows
    )


_TYPES = {"workspace_id": "bigint", "campaign_id": "bigint", "delivery_id": "bigint",
          "account_id": "bigint",
          "link_index": "int", "machine": "bool", "ip": "inet", "occurred_at": "timestamptz",
          "created_at": "timestamptz"}  # fmt: skip
# Each row a JSON array in the order of _HIT_COLUMNS, taken apart by PostgreSQL.
_HITS_JSON_SQL = (
    f"INSERT INTO {Event._meta.db_table} ({', '.join(_HIT_COLUMNS)}) SELECT "  # noqa: S608
    + ", ".join(f"(r->>{i})::{_TYPES.get(name, 'text')}" for i, name in enumerate(_HIT_COLUMNS))
    + " FROM jsonb_array_elements(%s::jsonb) AS r"
)


def _hit_values(
    fact: Fact, delivery: Delivery | SentDelivery, now: dt.datetime, *, text: bool = False
) -> tuple[Any, ...]:
    """The row of an open or a click in the order of _HIT_COLUMNS; with `text`, its times and
    address as text (for JSON)."""
    if fact.kind not in (EventKind.OPENED, EventKind.CLICKED) or fact.dedupe_key:
        raise ValueError("record_hit stores opens and clicks only")
    if text:
        return (
            delivery.workspace_id, delivery.campaign_id, delivery.pk, delivery.account_id,
            delivery.email[:254],
            str(fact.kind), "", "", "", fact.link_index, fact.url[:2000], fact.machine,
            str(fact.source), fact.source_detail[:120], fact.user_agent[:500], fact.ip,
            "", (fact.occurred_at or now).isoformat(), now.isoformat(),
        )  # fmt: skip
    ops = connection.ops
    return (
        delivery.workspace_id, delivery.campaign_id, delivery.pk, delivery.account_id,
        delivery.email[:254],
        str(fact.kind), "", "", "", fact.link_index, fact.url[:2000], fact.machine,
        str(fact.source), fact.source_detail[:120], fact.user_agent[:500],
        ops.adapt_ipaddressfield_value(fact.ip),
        "", ops.adapt_datetimefield_value(fact.occurred_at or now),
        ops.adapt_datetimefield_value(now),
    )  # fmt: skip
