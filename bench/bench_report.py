"""A campaign report, a recipient timeline and the workspace rates with 100,000 deliveries.

Fills one campaign with N deliveries (default 100,000) over 20 receiving domains and two
sending accounts, and about 0.75 events per delivery (opens, proxy opens, clicks on 5 links,
bounces, complaints, unsubscribes), then times each part of the report, the whole report,
the rates and a timeline page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_report \
        .venv/bin/python bench/bench_report.py
    .venv/bin/python bench/bench_report.py --deliveries 20000   # SQLite under var/bench/

The data are kept between runs (same N: not inserted again). Last line:
RESULT deliveries=… events=… report_ms=… summary_ms=… domains_ms=… rates_ms=… timeline_ms=… db=…
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script
from timing import best_ms  # noqa: E402 -- beside this script

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

WORKSPACE = "Bench report"
DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "mail.ru",
    "yandex.ru",
    "hotmail.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "aol.com",
    "proton.me",
    "orange.fr",
    "free.fr",
    "libero.it",
    "seznam.cz",
    "wp.pl",
    "qq.com",
    "naver.com",
    "example.org",
    "example.net",
]


def fill(n: int) -> Any:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Workspace
    from audience.models import Recipient
    from campaigns.models import Campaign, Delivery
    from sending.models import SendingAccount
    from tracking.models import Event

    workspace = Workspace.objects.filter(name=WORKSPACE).first()
    if workspace is not None and Delivery.objects.filter(workspace=workspace).count() == n:
        return Campaign.objects.get(workspace=workspace)
    if workspace is not None:
        Event.objects.filter(workspace=workspace).delete()
        workspace.delete()
    started = time.perf_counter()
    workspace = Workspace.objects.create(name=WORKSPACE)
    start = timezone.now() - timedelta(days=2)
    campaign = Campaign.objects.create(
        workspace=workspace, name="Bench", status="completed", launched_at=start
    )
    accounts = [
        SendingAccount.objects.create(workspace=workspace, name=f"A{i}", from_email=f"a{i}@x.test")
        for i in (1, 2)
    ]
    emails = [f"p{i}@{DOMAINS[i % len(DOMAINS)]}" for i in range(n)]
    Recipient.objects.bulk_create(
        [Recipient(workspace=workspace, email=e) for e in emails], batch_size=5000
    )
    people = dict(Recipient.objects.filter(workspace=workspace).values_list("email", "pk"))
    Delivery.objects.bulk_create(
        [
            Delivery(
                workspace=workspace,
                campaign=campaign,
                recipient_id=people[e],
                email=e,
                status="sent",
                sent_at=start,
                account=accounts[i % 2],
            )
            for i, e in enumerate(emails)
        ],
        batch_size=5000,
    )
    events: list[Event] = []
    for i, (pk, email) in enumerate(
        Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", "email")
    ):

        def add(kind: str, minutes: int, pk: int = pk, email: str = email, **extra: Any) -> None:
            events.append(
                Event(
                    workspace=workspace,
                    campaign=campaign,
                    delivery_id=pk,
                    email=email,
                    kind=kind,
                    source="link",
                    occurred_at=start + timedelta(minutes=minutes),
                    **extra,
                )
            )

        if i % 3 == 0:
            add("opened", i % 2880)
        if i % 4 == 0:
            add("opened", 0, machine=True)
        if i % 7 == 0:
            add("clicked", i % 2880 + 1, link_index=i % 5, url=f"https://x.test/{i % 5}")
        if i % 50 == 0:
            add("bounced", 1, bounce_type="hard" if i % 100 else "soft")
        if i % 500 == 0:
            add("complained", 60)
        if i % 200 == 0:
            add("unsubscribed", 90)
    Event.objects.bulk_create(events, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE campaigns_delivery")
            cursor.execute("ANALYZE tracking_event")
    took = time.perf_counter() - started
    print(f"inserted {n:,} deliveries, {len(events):,} events in {took:.0f} s")
    return campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    args = parser.parse_args()
    db = prepare_database("bench_report", drop_postgres=False, drop_sqlite=False)

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from audience.models import Recipient
    from tracking import reports
    from tracking.models import Event

    call_command("migrate", "--noinput", verbosity=0)
    campaign = fill(args.deliveries)
    workspace = campaign.workspace
    events = Event.objects.filter(campaign=campaign).count()
    report = reports.campaign_report(campaign)
    print(f"summary: {report.summary}")
    recipient = Recipient.objects.filter(workspace=workspace).order_by("pk").first()
    assert recipient is not None
    figures = {
        "report_ms": best_ms(lambda: reports.campaign_report(campaign)),
        "summary_ms": best_ms(lambda: reports.campaign_summary(campaign)),
        "hours_ms": best_ms(lambda: reports.campaign_hours(campaign)),
        "links_ms": best_ms(lambda: reports.campaign_links(campaign)),
        "domains_ms": best_ms(lambda: reports.campaign_domains(campaign)),
        "accounts_ms": best_ms(lambda: reports.campaign_accounts(campaign)),
        "rates_ms": best_ms(lambda: reports.workspace_rates(workspace, now=timezone.now())),
        "timeline_ms": best_ms(lambda: reports.recipient_timeline(workspace, recipient)),
    }
    parts = " ".join(f"{k}={v:.0f}" for k, v in figures.items())
    print(f"RESULT deliveries={args.deliveries} events={events} {parts} db={db}")


if __name__ == "__main__":
    main()
