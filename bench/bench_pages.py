"""The pages a user opens, with 10,000,000 deliveries and 20,000,000 attempts (PostgreSQL).

Fills one workspace (an owner, two sending accounts) with set-based SQL (INSERT … SELECT over
generate_series; indexes dropped during the load and built again after it, foreign-key
triggers off):

- R recipients (default 1,000,000; at most a tenth of the deliveries), 20 receiving domains,
  names and companies from short lists, created over the last year;
- N deliveries (default 10,000,000) in a realistic mix of campaigns: nine newsletters to the
  whole list, one a week or so, and twenty smaller campaigns to parts of it (each 1/20 of
  what remains), launched one after the other over the last 60 days;
- M attempts (default 20,000,000): each delivery tried M/N times (two), the earlier tries
  deferred (451), the last sent (96 in 100) or refused for good (550), the tries a campaign
  makes spread over three hours after its launch and 20 minutes apart;
- events: an open for one sent delivery in five, a machine open for one in twenty, a click
  for one in thirty, a bounce for each refusal, an unsubscribe for one in a thousand and a
  complaint for one in five thousand (about 3.2 million at full size);
- the finished campaigns' counts kept (services.campaigns_freeze_finished, as the engine
  does), then VACUUM ANALYZE.

Then times the real pages through Django's test Client signed in as the owner (view,
template, queries), best and median of a few rounds after one warm-up, and counts each page's
SQL queries: the campaign list, the largest campaign's page and report (computed again, as
once a minute; and cached), the recipients page (first page, a search, a sort), one
recipient's page and activity, the log's first page and a page deep inside it (following its
cursor), and the dashboard (uncached: the figures computed again with the past days kept;
cold: nothing cached; cached).

    flock /tmp/postroom-heavy.lock make bench-pages
    make bench-pages BENCH_ARGS="--deliveries 200000 --attempts 400000"   # while developing

The database (DATABASE_URL, default postroom_bench_pages on 127.0.0.1) is kept between runs
and made again when the sizes differ. Last line:
RESULT deliveries=… attempts=… recipients=… events=… fill_s=… <page>_ms=best/median q=… …
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script
from bench_report import DOMAINS  # noqa: E402 -- beside this script; the same receiving domains

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postroom_bench_pages")

OWNER = "owner@bench-pages.test"
DAYS = 60
NEWSLETTERS = 9
SMALL = 20
FIRST = [
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Niklaus",
]  # fmt: skip
LAST = [
    "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
    "Perlman", "Wirth", "Hamilton", "Ritchie", "Kay", "Backus", "McCarthy", "Hoare",
]  # fmt: skip
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]
TABLES = ("audience_recipient", "campaigns_delivery", "campaigns_attempt", "tracking_event")


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


# The address of recipient r (0-based); deliveries repeat it rather than join for it.
ADDRESS = f"'p' || {{r}} || '@' || ({sql_array(DOMAINS)})[1 + {{r}} %% {len(DOMAINS)}]"

RECIPIENTS_SQL = f"""
    INSERT INTO audience_recipient (workspace_id, email, first_name, last_name, company,
        country, city, comment, status, fields, created_at, updated_at)
    SELECT %(ws)s, {ADDRESS.format(r="r")},
        ({sql_array(FIRST)})[1 + r %% {len(FIRST)}],
        ({sql_array(LAST)})[1 + (r / 7) %% {len(LAST)}] || (r %% 997),
        ({sql_array(COMPANIES)})[1 + (r / 3) %% {len(COMPANIES)}], '', '', '',
        CASE WHEN r %% 1000 = 7 THEN 'unsubscribed' WHEN r %% 97 = 5 THEN 'bounced'
             ELSE 'active' END,
        '{{}}'::jsonb, %(now)s - (%(r)s - r) * interval '1 second' * (365 * 86400.0 / %(r)s),
        %(now)s - (%(r)s - r) * interval '1 second' * (365 * 86400.0 / %(r)s)
    FROM generate_series(0, %(r)s - 1) AS r
"""  # noqa: S608 -- made of this script's constants only

# One row per (campaign, j): recipient (offset + j) mod R; g, the delivery's place among all,
# says how many tries it had (M div N, one more for the first M mod N) and how it ended.
DELIVERIES_SQL = f"""
    INSERT INTO campaigns_delivery (workspace_id, campaign_id, recipient_id, email, status,
        attempts, next_attempt_at, lease_owner, message_id, last_code, last_enhanced_code,
        last_reply, sent_at, updated_at, account_id, created_at)
    SELECT %(ws)s, c.id, %(r0)s + s.r, {ADDRESS.format(r="s.r")},
        CASE WHEN s.ok THEN 'sent' ELSE 'failed' END, s.k, s.last, '',
        CASE WHEN s.ok THEN '<' || s.g || '@bench-pages.test>' ELSE '' END,
        CASE WHEN s.ok THEN 250 ELSE 550 END, CASE WHEN s.ok THEN '2.0.0' ELSE '5.1.1' END,
        CASE WHEN s.ok THEN '250 2.0.0 Ok' ELSE '550 5.1.1 User unknown' END,
        CASE WHEN s.ok THEN s.last END, s.last,
        CASE WHEN s.g %% 2 = 0 THEN %(a1)s ELSE %(a2)s END, c.launched
    FROM (VALUES %(campaigns)s) AS c(id, off, size, g0, launched)
    CROSS JOIN LATERAL (
        SELECT (c.off + j) %% %(r)s AS r, c.g0 + j AS g,
            (c.g0 + j)::bigint * 7919 %% 100 < 96 AS ok,
            %(base)s + CASE WHEN c.g0 + j < %(extra)s THEN 1 ELSE 0 END AS k,
            c.launched + j * interval '3 hours' / c.size
                + (%(base)s - 1 + CASE WHEN c.g0 + j < %(extra)s THEN 1 ELSE 0 END)
                  * interval '20 minutes' AS last
        FROM generate_series(0, c.size - 1) AS j
    ) AS s
"""  # noqa: S608 -- made of this script's constants only

ATTEMPTS_SQL = """
    INSERT INTO campaigns_attempt (workspace_id, campaign_id, delivery_id, account_id, email,
        outcome, smtp_code, enhanced_code, reply, message_id, created_at)
    SELECT d.workspace_id, d.campaign_id, d.id, d.account_id, d.email,
        CASE WHEN a < d.attempts - 1 THEN 'temporary' WHEN d.status = 'sent' THEN 'sent'
             ELSE 'permanent' END,
        CASE WHEN a < d.attempts - 1 THEN 451 ELSE d.last_code END,
        CASE WHEN a < d.attempts - 1 THEN '4.7.1' ELSE d.last_enhanced_code END,
        CASE WHEN a < d.attempts - 1 THEN '451 4.7.1 Greylisted, try again later'
             ELSE d.last_reply END,
        CASE WHEN a = d.attempts - 1 THEN d.message_id ELSE '' END,
        d.next_attempt_at - (d.attempts - 1 - a) * interval '20 minutes'
    FROM campaigns_delivery d CROSS JOIN LATERAL generate_series(0, d.attempts - 1) AS a
    WHERE d.workspace_id = %(ws)s
"""

# kind, extra columns' values, which deliveries, minutes after the send.
EVENTS = [
    ("opened", "NULL, '', false", "d.status = 'sent' AND d.id %% 5 = 0", "d.id %% 2880"),
    ("opened", "NULL, '', true", "d.status = 'sent' AND d.id %% 20 = 1", "1"),
    (
        "clicked",
        "d.id %% 5, 'https://bench-pages.test/' || d.id %% 5, false",
        "d.status = 'sent' AND d.id %% 30 = 0",
        "d.id %% 2880 + 1",
    ),
    ("bounced", "NULL, '', false", "d.status = 'failed'", "0"),
    ("unsubscribed", "NULL, '', false", "d.status = 'sent' AND d.id %% 1000 = 0", "90"),
    ("complained", "NULL, '', false", "d.status = 'sent' AND d.id %% 5000 = 10", "60"),
]
EVENTS_SQL = """
    INSERT INTO tracking_event (workspace_id, campaign_id, delivery_id, email, kind, link_index,
        url, machine, bounce_type, status_code, detail, source, source_detail, user_agent,
        dedupe_key, occurred_at, created_at)
    SELECT d.workspace_id, d.campaign_id, d.id, d.email, '{kind}', {extra},
        CASE WHEN '{kind}' = 'bounced' THEN 'hard' ELSE '' END,
        CASE WHEN '{kind}' = 'bounced' THEN '5.1.1' ELSE '' END, '',
        CASE WHEN '{kind}' = 'bounced' THEN 'smtp' ELSE 'link' END, '', '', '',
        d.next_attempt_at + ({minutes}) * interval '1 minute',
        d.next_attempt_at + ({minutes}) * interval '1 minute'
    FROM campaigns_delivery d WHERE d.workspace_id = %(ws)s AND {where}
"""


def marker(n: int, m: int, r: int) -> str:
    return f"Bench pages {n}/{m}/{r}"


def plan(n: int, r: int) -> list[int]:
    """Campaign sizes in launch order: the newsletters, the small ones in between."""
    newsletters = min(NEWSLETTERS, n // r)
    rest = n - newsletters * r
    small = [rest // SMALL + (1 if i < rest % SMALL else 0) for i in range(SMALL)] if rest else []
    sizes: list[int] = []
    per = -(-len(small) // max(newsletters, 1))
    for i in range(max(newsletters, 1)):
        if i < newsletters:
            sizes.append(r)
        sizes.extend(small[i * per : (i + 1) * per])
    return [s for s in sizes if s]


def monthly_partitions(start: datetime, end: datetime) -> None:
    """The months of the data get their partitions in each partitioned table, as the hourly
    housekeeping would have made them ahead (else every row would land in the default one)."""
    from django.db import DatabaseError, connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            " WHERE c.relname = ANY(%s)",
            [list(TABLES)],
        )
        tables = [name for (name,) in cursor.fetchall()]
    month = date(start.year, start.month, 1)
    while month <= end.date():
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        for table in tables:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f'CREATE TABLE IF NOT EXISTS "{table}_{month:%Y_%m}" PARTITION OF'
                        f' "{table}" FOR VALUES FROM (%s) TO (%s)',
                        [month.isoformat(), following.isoformat()],
                    )
            except DatabaseError:
                pass  # the month has a partition under another name
        month = following


def fill(n: int, m: int, r: int) -> tuple[Any, float]:
    """The workspace (made once; different sizes make the database again)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User, Workspace
    from accounts.services import workspace_create
    from campaigns import services
    from campaigns.models import Campaign
    from sending.models import SendingAccount

    found = Workspace.objects.filter(name=marker(n, m, r)).first()
    if found is not None:
        return found, 0.0
    started = time.perf_counter()
    now = timezone.now()
    owner = User.objects.create_user(OWNER, "bench-pages", email_verified_at=now)
    # Named after its sizes only once filled: a fill that stopped half way is made again.
    workspace = workspace_create(name="Bench pages (filling)", owner=owner)
    owner.current_workspace = workspace
    owner.save(update_fields=["current_workspace"])
    accounts = [
        SendingAccount.objects.create(
            workspace=workspace, name=f"Bench {i}", from_email=f"news{i}@bench-pages.test"
        ).pk
        for i in (1, 2)
    ]
    monthly_partitions(now - timedelta(days=DAYS + 1), now)
    sizes = plan(n, r)
    step = timedelta(days=DAYS) / len(sizes)
    rows, g0, offset = [], 0, 0
    for i, size in enumerate(sizes):
        launched = now - timedelta(days=DAYS) + i * step
        campaign = Campaign.objects.create(
            workspace=workspace,
            name=f"{'Newsletter' if size == r else 'Offer'} {i + 1}",
            subject=f"Bench {i + 1}",
            status="completed",
            launched_at=launched,
            finished_at=launched + timedelta(hours=4),
            audience_total=size,
            created_by=owner,
            created_at=launched - timedelta(days=1),
        )
        rows.append(
            f"({campaign.pk}, {offset}, {size}, {g0}, '{launched.isoformat()}'::timestamptz)"
        )
        g0 += size
        offset = (offset + size) % r if size != r else offset
    params = {
        "ws": workspace.pk,
        "now": now,
        "r": r,
        "base": m // n,
        "extra": m % n,
        "a1": accounts[0],
        "a2": accounts[1],
    }
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET session_replication_role = replica")  # no foreign-key triggers
        dropped = []
        for table in TABLES:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                " AND tablename = %s AND indexname NOT IN"
                " (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            for name, definition in cursor.fetchall():
                dropped.append(definition)
                cursor.execute(f'DROP INDEX "{name}"')

        def step_sql(label: str, sql: str, values: dict[str, Any]) -> None:
            t = time.perf_counter()
            cursor.execute(sql, values)
            print(f"  {label}: {cursor.rowcount:,} rows in {time.perf_counter() - t:.0f} s")

        step_sql("recipients", RECIPIENTS_SQL, params)
        cursor.execute(
            "SELECT min(id) FROM audience_recipient WHERE workspace_id = %s", [workspace.pk]
        )
        params["r0"] = cursor.fetchone()[0]
        deliveries = DELIVERIES_SQL.replace("%(campaigns)s", ", ".join(rows))
        step_sql("deliveries", deliveries, params)
        step_sql("attempts", ATTEMPTS_SQL, params)
        for kind, extra, where, minutes in EVENTS:
            sql = EVENTS_SQL.format(kind=kind, extra=extra, where=where, minutes=minutes)
            step_sql(f"events {kind}", sql, params)
        t = time.perf_counter()
        for definition in dropped:
            # A partitioned table's index is listed "ON ONLY" the parent: built so, it would
            # be invalid and its partitions without it.
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        print(f"  {len(dropped)} indexes built in {time.perf_counter() - t:.0f} s")
        cursor.execute("SET session_replication_role = DEFAULT")
    t = time.perf_counter()
    frozen = services.campaigns_freeze_finished(limit=1000)  # as the engine's steps do
    print(f"  counts kept for {frozen} campaigns in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    with connection.cursor() as cursor:
        for table in (*TABLES, "campaigns_campaign"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  VACUUM ANALYZE in {time.perf_counter() - t:.0f} s")
    Workspace.objects.filter(pk=workspace.pk).update(name=marker(n, m, r))
    return workspace, time.perf_counter() - started


def timed(
    client: Any, url: str, rounds: int, before: Callable[[], Any] | None = None
) -> tuple[float, float, int, bytes]:
    """Best and median ms of `rounds` GETs after one warm-up, the number of queries, the body."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> Any:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    if before:
        before()
    get()
    times = []
    for _ in range(rounds):
        if before:
            before()
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    if before:
        before()
    with CaptureQueriesContext(connection) as queries:
        body = get().content
    if os.environ.get("BENCH_SHOW_QUERIES"):
        for q in queries.captured_queries:
            print(f"    {q['time']}s {q['sql'][:300]}")
    return min(times), statistics.median(times), len(queries), body


def next_cursor(body: bytes) -> str:
    found = re.search(r'after=([^"&\s]+)"', body.decode())
    assert found, "no next page"
    return html.unescape(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000_000)
    parser.add_argument("--attempts", type=int, default=20_000_000)
    parser.add_argument("--recipients", type=int, default=0, help="default: min(1M, N/10)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deep", type=int, default=100, help="log pages followed")
    args = parser.parse_args()
    n, m = args.deliveries, args.attempts
    r = args.recipients or min(1_000_000, n // 10)
    assert m >= n >= r > 0, "every delivery is tried once at least; a campaign has each once"
    db = prepare_database("bench_pages", drop_postgres=False, drop_sqlite=False)
    assert db == "postgresql", "bench_pages fills PostgreSQL only (set DATABASE_URL)"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Workspace

    call_command("migrate", "--noinput", verbosity=0)
    if not Workspace.objects.filter(name=marker(n, m, r)).exists() and Workspace.objects.exists():
        connection.close()  # other sizes: a new database is faster than deleting 30M rows
        prepare_database("bench_pages", drop_postgres=True, drop_sqlite=False)
        call_command("migrate", "--noinput", verbosity=0)
    workspace, fill_s = fill(n, m, r)
    if fill_s:
        print(f"filled in {fill_s:.0f} s")

    from django.core.cache import caches
    from django.test import Client

    from accounts.models import User
    from audience.models import Recipient
    from campaigns import dashboard
    from campaigns.models import Attempt, Campaign, Delivery
    from tracking import reports, resends
    from tracking.models import Event

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    events = Event.objects.filter(workspace=workspace).count()
    print(
        f"workspace {workspace.pk}: {Recipient.objects.filter(workspace=workspace).count():,}"
        f" recipients, {Campaign.objects.filter(workspace=workspace).count()} campaigns,"
        f" {n:,} deliveries, {m:,} attempts, {events:,} events; database {size};"
        f" cache {type(caches['default']).__name__}"
    )
    client = Client()
    client.force_login(User.objects.get(email=OWNER))
    largest = Campaign.objects.filter(workspace=workspace, audience_total=r).order_by("-pk").first()
    assert largest is not None
    person = Recipient.objects.filter(workspace=workspace).order_by("pk")[r // 2]
    assert Delivery.objects.filter(recipient_id=person.pk).exists()
    assert Attempt.objects.filter(workspace=workspace).exists()

    figures: dict[str, tuple[float, float, int]] = {}

    def forget_report(campaign_id: int) -> None:
        """The report and its resend counts computed again, as after their minute ran out."""
        reports.REPORT_FLIGHT.invalidate(campaign_id)
        resends.OPTIONS_FLIGHT.invalidate(campaign_id)

    def page(
        name: str, url: str, before: Callable[[], Any] | None = None, rounds: int = 0
    ) -> bytes:
        best, median, queries, body = timed(client, url, rounds or args.rounds, before)
        figures[name] = (best, median, queries)
        print(
            f"{name:>16}: best {best:7.1f} ms  median {median:7.1f} ms  {queries:3} queries  {url}"
        )
        return body

    page("campaigns", "/campaigns/")
    page("campaign", f"/campaigns/{largest.pk}/")
    page("report", f"/campaigns/{largest.pk}/report/", before=lambda: forget_report(largest.pk))
    page("report_cached", f"/campaigns/{largest.pk}/report/", rounds=args.rounds * 4)
    page("recipients", "/recipients/")
    page("recipients_search", f"/recipients/?q={r // 2 + 3}@")
    page("recipients_sort", "/recipients/?sort=last_name&dir=desc")
    page("recipient", f"/recipients/{person.pk}/")
    page("activity", f"/recipients/{person.pk}/activity/")
    body = page("log", "/logs/")
    for _ in range(args.deep):
        body = client.get(f"/logs/?after={next_cursor(body)}").content
    page("log_deep", f"/logs/?after={next_cursor(body)}")
    page("dashboard", "/", before=lambda: dashboard.invalidate(workspace.pk))
    page(
        "dashboard_cold",
        "/",
        before=lambda: dashboard.invalidate(workspace.pk, history=True),
        rounds=min(args.rounds, 3),
    )
    page("dashboard_cached", "/", rounds=args.rounds * 4)
    parts = " ".join(f"{k}_ms={b:.0f}/{md:.0f} {k}_q={q}" for k, (b, md, q) in figures.items())
    print(
        f"RESULT deliveries={n} attempts={m} recipients={r} events={events}"
        f" fill_s={fill_s:.0f} {parts} db_size={size.replace(' ', '')}"
    )


if __name__ == "__main__":
    main()
