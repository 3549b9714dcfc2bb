"""Queueing deliveries in bulk: one INSERT … SELECT, whatever the number of rows.

A campaign's launch queues its audience; a sequence (automation) queues a step for those who
reached it. Both write the same outbox row the engine claims.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, DateTimeField, F, QuerySet, Value

from campaigns.models import Delivery, DeliveryStatus


def insert_deliveries(
    source: QuerySet[Any],
    *,
    workspace: str | Value,
    recipient: str,
    email: str,
    campaign_id: int,
    now: datetime,
    variant_id: int | None = None,
    created: bool = False,
) -> int:
    """Queue a delivery of `campaign_id` for each row of `source` (any model: recipients at a
    launch, enrollments for a sequence's step) with one INSERT … SELECT; `workspace`,
    `recipient` and `email` name its columns. One that exists is kept as it is (ON CONFLICT).
    `created` stamps the rows' created_at (a step's delivery expires counting from it).
    Returns how many were new."""
    # Django writes the SELECT, constants included, so values are adapted for each database.
    rows = source.annotate(
        _workspace=workspace if isinstance(workspace, Value) else F(workspace),
        _campaign=Value(campaign_id, output_field=BigIntegerField()),
        _status=Value(str(DeliveryStatus.QUEUED)),
        _zero=Value(0),
        _now=Value(now, output_field=DateTimeField()),
        _blank=Value(""),
        _variant=Value(variant_id, output_field=BigIntegerField()),
    ).values_list(
        "_workspace",
        "_campaign",
        recipient,
        email,
        "_status",
        "_zero",
        "_now",
        "_blank",
        "_blank",
        "_blank",
        "_blank",
        "_now",
        "_variant",
        *(["_now"] if created else []),
    )
    if not source.query.order_by:
        rows = rows.order_by()
    sql, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    statement = (
        f"INSERT INTO {table} (workspace_id, campaign_id, recipient_id, email, status,"
        " attempts, next_attempt_at, lease_owner, message_id, last_enhanced_code, last_reply,"
        f" updated_at, variant_id{', created_at' if created else ''}) {sql} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)
