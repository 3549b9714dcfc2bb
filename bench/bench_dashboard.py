"""The dashboard and the log with millions of attempts in one workspace.

Fills a workspace with N attempts (default 10,000,000) spread over the last 60 days (one SQL
statement: generate_series on PostgreSQL, a recursive CTE on SQLite), then times:

- the dashboard's figures uncached: cold (every aggregate, the 30 days included) and after a
  change on a day whose past is cached (what a recomputation costs all day long),
- the cached figures (what every visit within the TTL costs),
- the log's first page and a page deep inside it (keyset), a filtered page, one rare
  address's page, a part of it (found by the few recipients that have it) and a part of
  every address (read from the log, newest first),
- the campaign list's counts: kept on the finished campaign, and (the reference) read from
  its deliveries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_dashboard \
        .venv/bin/python bench/bench_dashboard.py --attempts 10000000
    .venv/bin/python bench/bench_dashboard.py --attempts 1000000      # SQLite under var/bench/

The data are kept between runs (same N: not inserted again). Last line:
RESULT attempts=… cold_ms=… compute_ms=… cached_ms=… log_first_ms=… log_deep_ms=…
log_filtered_ms=… log_address_ms=… log_part_ms=… log_common_ms=… list_ms=… list_ref_ms=… db=…
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script
from timing import best_ms  # noqa: E402 -- beside this script

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

WORKSPACE = "Bench dashboard"
DELIVERIES = 10_000  # the SQL below spreads attempts over this many deliveries
RARE = "rare@example.org"  # one delivery, two attempts (rare_address)
# Six in eight attempts sent, one temporary failure, one permanent; created_at spread evenly
# over the last 60 days (so half of them fall in the dashboard's 30).
PG_FILL = """
    INSERT INTO campaigns_attempt (workspace_id, campaign_id, delivery_id, email, outcome,
        enhanced_code, reply, message_id, created_at)
    SELECT %s, %s, %s + (i %% 10000), 'p' || (i %% 10000) || '@example.com',
        (ARRAY['sent','sent','sent','sent','sent','sent','temporary','permanent'])[1 + i %% 8],
        '', '250 2.0.0 Ok', '', %s - (i * interval '1 second' * (60 * 86400.0 / %s))
    FROM generate_series(0, %s - 1) AS i
"""
SQLITE_FILL = """
    WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < %s)
    INSERT INTO campaigns_attempt (workspace_id, campaign_id, delivery_id, email, outcome,
        enhanced_code, reply, message_id, created_at)
    SELECT %s, %s, %s + (i %% 10000), 'p' || (i %% 10000) || '@example.com',
        CASE i %% 8 WHEN 6 THEN 'temporary' WHEN 7 THEN 'permanent' ELSE 'sent' END,
        '', '250 2.0.0 Ok', '',
        strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-' || (i * 60 * 86400.0 / %s) || ' seconds')
    FROM s
"""


def fill(n: int, db: str) -> Any:
    """The workspace with `n` attempts (made once; a different n starts again)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Workspace
    from campaigns.models import Attempt, Campaign, Delivery

    workspace = Workspace.objects.filter(name=WORKSPACE).first()
    if workspace is not None and Attempt.objects.filter(campaign__name="Bench").count() == n:
        return link_recipients(workspace)
    if workspace is not None:
        workspace.delete()
    workspace = Workspace.objects.create(name=WORKSPACE)
    campaign = Campaign.objects.create(workspace=workspace, name="Bench", status="completed")
    Delivery.objects.bulk_create(
        [
            Delivery(workspace=workspace, campaign=campaign, email=f"p{i}@example.com")
            for i in range(DELIVERIES)
        ],
        batch_size=5000,
    )
    first = (
        Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)[0]
    )
    now = timezone.now()
    started = time.perf_counter()
    params: list[Any]
    if db == "postgresql":
        sql, params = PG_FILL, [workspace.pk, campaign.pk, first, now, n, n]
    else:
        stamp = now.strftime("%Y-%m-%d %H:%M:%S")
        sql, params = SQLITE_FILL, [n, workspace.pk, campaign.pk, first, stamp, n]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if db == "postgresql":
            cursor.execute("ANALYZE campaigns_attempt")
    Delivery.objects.filter(campaign=campaign).update(status="sent")
    print(f"inserted {n:,} attempts in {time.perf_counter() - started:.1f} s")
    return link_recipients(workspace)


def rare_address(workspace: Any) -> str:
    """An address with two attempts, the newer 59 days old: a page of its log read newest
    first passes almost every attempt of the workspace before finding them."""
    from datetime import timedelta

    from django.utils import timezone

    from audience.models import Recipient
    from campaigns.models import Attempt, Campaign, Delivery

    if Attempt.objects.filter(workspace=workspace, email=RARE).exists():
        return RARE
    campaign = Campaign.objects.create(workspace=workspace, name="Rare", status="completed")
    person = Recipient.objects.create(workspace=workspace, email=RARE)
    delivery = Delivery.objects.create(
        workspace=workspace, campaign=campaign, recipient=person, email=RARE, status="sent"
    )
    old = timezone.now() - timedelta(days=59)
    for days, outcome in ((1, "temporary"), (0, "sent")):
        Attempt.objects.create(
            workspace=workspace,
            campaign=campaign,
            delivery=delivery,
            email=RARE,
            outcome=outcome,
            created_at=old - timedelta(days=days),
        )
    return RARE


def link_recipients(workspace: Any) -> Any:
    """One recipient per delivery (data made by an older version of this script had none)."""
    from audience.models import Recipient
    from campaigns.models import Delivery

    loose = Delivery.objects.filter(workspace=workspace, recipient__isnull=True)
    if not loose.exists():
        return workspace
    Recipient.objects.bulk_create(
        [Recipient(workspace=workspace, email=f"p{i}@example.com") for i in range(DELIVERIES)],
        batch_size=5000,
        ignore_conflicts=True,
    )
    by_email = dict(Recipient.objects.filter(workspace=workspace).values_list("email", "pk"))
    rows = list(loose)
    for delivery in rows:
        delivery.recipient_id = by_email[delivery.email]
    Delivery.objects.bulk_update(rows, ["recipient"], batch_size=5000)
    return workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=10_000_000)
    args = parser.parse_args()
    db = prepare_database("bench_dashboard", drop_postgres=False, drop_sqlite=False)

    import django

    django.setup()
    from django.core.cache import caches
    from django.core.management import call_command
    from django.utils import timezone

    from campaigns import dashboard, selectors

    call_command("migrate", "--noinput", verbosity=0)
    workspace = fill(args.attempts, db)
    now = timezone.now()

    def cold() -> Any:
        dashboard.invalidate(workspace.pk, history=True)
        return dashboard.compute(workspace, now)

    cold_ms = best_ms(cold)
    compute_ms = best_ms(lambda: dashboard.compute(workspace, now))  # past days cached
    figures = dashboard.compute(workspace, now)
    print(f"figures: month={figures.month} reached={figures.reached}")
    dashboard.invalidate(workspace.pk)
    dashboard.figures(workspace)
    cached_ms = best_ms(lambda: dashboard.figures(workspace), rounds=20)
    flt = selectors.AttemptFilter()
    first_ms = best_ms(lambda: selectors.attempts_page(workspace, flt))
    page = selectors.attempts_page(workspace, flt)
    for _ in range(200):  # 200 pages deep, following the cursors as a reader would
        page = selectors.attempts_page(workspace, flt, page.next_cursor)
    deep_ms = best_ms(lambda: selectors.attempts_page(workspace, flt, page.next_cursor))
    failed = selectors.AttemptFilter(outcome="permanent")
    filtered_ms = best_ms(lambda: selectors.attempts_page(workspace, failed))
    # One address: looked up by its deliveries; and, for reference, a part of it, matched
    # anywhere by reading the log newest first (how a whole address was looked up before).
    rare = selectors.AttemptFilter(email=rare_address(workspace))
    address_ms = best_ms(lambda: selectors.attempts_page(workspace, rare))
    assert len(selectors.attempts_page(workspace, rare).rows) == 2
    part = selectors.AttemptFilter(email=RARE.split("@")[0] + "@")
    part_ms = best_ms(lambda: selectors.attempts_page(workspace, part), rounds=2)
    assert len(selectors.attempts_page(workspace, part).rows) == 2
    # A part in every address: read from the log newest first, where a page fills at once.
    common = selectors.AttemptFilter(email="@example.com")
    common_ms = best_ms(lambda: selectors.attempts_page(workspace, common))
    print(
        f"log by address: {address_ms:.1f} ms; by a rare part of it: {part_ms:,.1f} ms;"
        f" by a part of every address: {common_ms:.1f} ms"
    )
    # The campaign list: its counts read from the deliveries (the reference, as before) and
    # once the finished campaigns' counts are kept on them.
    from campaigns import services

    def list_before() -> Any:
        return selectors.status_counts_many(c.pk for c in selectors.campaigns_page(workspace).rows)

    list_ref_ms = best_ms(list_before, rounds=10)
    services.campaigns_freeze_finished(limit=1000)  # as the engine's steps do
    list_ms = best_ms(
        lambda: selectors.list_counts(selectors.campaigns_page(workspace).rows), rounds=10
    )
    print(f"cache backend: {type(caches['default']).__name__}")
    print(
        f"RESULT attempts={args.attempts} cold_ms={cold_ms:.0f} compute_ms={compute_ms:.0f}"
        f" cached_ms={cached_ms:.2f}"
        f" log_first_ms={first_ms:.1f} log_deep_ms={deep_ms:.1f}"
        f" log_filtered_ms={filtered_ms:.1f} log_address_ms={address_ms:.1f}"
        f" log_part_ms={part_ms:.1f} log_common_ms={common_ms:.1f}"
        f" list_ms={list_ms:.1f} list_ref_ms={list_ref_ms:.1f}"
        f" db={db}"
    )


if __name__ == "__main__":
    main()
