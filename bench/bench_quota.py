"""Quota reservations per second, and SMTP messages per second over one kept-open connection.

`sending.quota.reserve` runs once per message, so it bounds the engine: this times it on one
thread (with and without a workspace hourly limit, which serialises a workspace's reservations)
and on several threads with one account each in one workspace, and times the SMTP
transport sending to the local test server (aiosmtpd) with and without DKIM signing.

    .venv/bin/python bench/bench_quota.py                       # SQLite under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_quota \\
        .venv/bin/python bench/bench_quota.py --threads 4

Last line: RESULT reserve_per_s=… reserve_hourly_per_s=… reserve_threads_per_s=…
smtp_msgs_per_s=… smtp_dkim_msgs_per_s=… db=…
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="reservations per phase")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    db = prepare_database("bench_quota", drop_postgres=False, drop_sqlite=True)
    os.environ["SENDING_ALLOW_PRIVATE_HOSTS"] = "1"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    single = bench_reserve(args.n, threads=1, hourly=False)
    hourly = bench_reserve(args.n, threads=1, hourly=True)
    threaded = (
        bench_reserve(args.n, threads=args.threads, hourly=False) if db == "postgresql" else 0.0
    )
    plain, signed = bench_smtp(args.messages)
    print(f"reserve, 1 thread:                      {single:10.0f} /s")
    print(f"reserve, 1 thread, workspace hourly limit: {hourly:7.0f} /s")
    if threaded:
        print(
            f"reserve, {args.threads} threads on {args.threads} accounts:       {threaded:10.0f} /s"
        )
    else:
        print("reserve, threads: skipped (SQLite has one worker)")
    print(f"SMTP, one connection:        {plain:10.0f} msgs/s")
    print(f"SMTP + DKIM (RSA 2048):      {signed:10.0f} msgs/s")
    print(
        f"RESULT reserve_per_s={single:.0f} reserve_hourly_per_s={hourly:.0f} "
        f"reserve_threads_per_s={threaded:.0f} "
        f"smtp_msgs_per_s={plain:.0f} smtp_dkim_msgs_per_s={signed:.0f} db={db}"
    )


def bench_reserve(n: int, *, threads: int, hourly: bool) -> float:
    from django.db import connection

    from accounts.models import Workspace
    from sending import quota
    from sending.models import SendingAccount

    workspace = Workspace.objects.create(name="Bench quota", hourly_limit=10**9 if hourly else None)
    accounts = [
        SendingAccount.objects.create(
            workspace=workspace,
            name=f"bench {i}",
            from_email=f"bench{i}@example.com",
            status="active",
            daily_limit=10**9,
            min_interval_seconds=0,
        )
        for i in range(threads)
    ]
    start_at = datetime(2026, 6, 1, tzinfo=UTC)
    per_thread = n // threads

    def work(account: SendingAccount) -> None:
        try:
            for i in range(per_thread):
                quota.reserve(account, start_at + timedelta(milliseconds=i))
        finally:
            connection.close()

    started = time.perf_counter()
    if threads == 1:
        for i in range(per_thread):
            quota.reserve(accounts[0], start_at + timedelta(milliseconds=i))
    else:
        pool = [threading.Thread(target=work, args=(a,)) for a in accounts]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    elapsed = time.perf_counter() - started
    return per_thread * threads / elapsed


def bench_smtp(messages: int) -> tuple[float, float]:
    from django.conf import settings

    from accounts.models import Workspace
    from core.testing.smtp import SmtpSink
    from sending import services
    from sending.models import SendingAccount
    from sending.tests.factories import rendered
    from sending.transports.base import OutgoingMessage
    from sending.transports.factory import transport_for

    settings.SENDING_HELO_NAME = "bench.postroom.test"
    message = OutgoingMessage.from_rendered(rendered(from_email="news@bench.example"))
    figures = []
    with SmtpSink() as sink:
        for sign in (False, True):
            workspace = Workspace.objects.create(name=f"Bench smtp {sign}")
            if sign:
                services.dkim_key_create(workspace=workspace, domain="bench.example", selector="b")
            account = SendingAccount.objects.create(
                workspace=workspace,
                name="bench",
                from_email="news@bench.example",
                smtp_host=sink.host,
                smtp_port=sink.port,
                smtp_security="none",
                status="active",
            )
            sink.reset()
            started = time.perf_counter()
            with transport_for(account) as transport:
                for _ in range(messages):
                    assert transport.send(message).ok
            sink.wait_for(messages, timeout=60)
            figures.append(messages / (time.perf_counter() - started))
    return figures[0], figures[1]


if __name__ == "__main__":
    main()
