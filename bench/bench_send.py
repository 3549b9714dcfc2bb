"""End-to-end sending speed against the machine's own limit, measured in the same run.

The limit: Postfix's `smtp-source -d` pushing the same number of 4 KB messages over the same
number of connections into `smtp-sink` (../shared/tools/smtp-sink), on 127.0.0.1, each
connection's session reused for all its messages as the engine reuses its connections. The
figure without `-d` (a new session per message) is printed too, for comparison only. Ours: a
campaign of N recipients with a 4 KB personalised template (five placeholders), from launch
to the last recorded result, sent by W worker processes (`manage.py worker`) into the same
sink. It prints both rates, their ratio, the launch time, the CPU per message of the workers,
of their PostgreSQL backends and of the sink, and the workers' peak memory.

    make bench-send                                    # SQLite, one embedded worker, 100,000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_send make bench-send \
        BENCH_ARGS="--workers 2"
    .venv/bin/python bench/bench_send.py --recipients 20000
    make bench-send BENCH_ARGS="--track-clicks on"     # five tracked links; compare with off
    make bench-send BENCH_ARGS="--recipients 1000000 --launch-only"   # the launch alone
    make bench-send BENCH_ARGS="--recipients 20000 --launch-only --fresh-tables"

With DATABASE_URL set to PostgreSQL that database is used (created when missing); otherwise a
fresh SQLite file (one worker: SQLite allows no more). Last line:
RESULT recipients=… rate=… limit=… ratio=… limit_new_sessions=… launch_s=… worker_cpu_us=…
db_cpu_us=… sink_cpu_us=… peak_rss_mb=… db=… workers=…
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared/tools beside the checkout (or one level further up, from a worktree);
# POSTROOM_SHARED_TOOLS for a checkout elsewhere.
SHARED_TOOLS = Path(
    os.environ.get("POSTROOM_SHARED_TOOLS")
    or next(
        (
            p / "shared" / "tools"
            for p in (ROOT.parent, ROOT.parent.parent)
            if (p / "shared").is_dir()
        ),
        ROOT.parent / "shared" / "tools",
    )
)
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database, production_settings  # noqa: E402 -- beside this script
from processes import CpuMeter, cpu_seconds, database_backends  # noqa: E402 -- beside this script

production_settings("bench-send")

CONNECTIONS = 16
MESSAGE_SIZE = 4096


def start_sink(port: int) -> None:
    subprocess.run([str(SHARED_TOOLS / "smtp-sink"), str(port)], check=True, capture_output=True)


def stop_sink(port: int) -> None:
    subprocess.run([str(SHARED_TOOLS / "smtp-sink"), "--stop", str(port)], check=False)


def machine_limit(port: int, messages: int, *, reuse: bool) -> tuple[float, float]:
    """smtp-source into smtp-sink: (messages per second, smtp-source's CPU seconds) with our
    size and connection count. `reuse` (-d) sends every message of a connection's share over
    one session, as the engine does; without it smtp-source opens a session per message."""
    found = subprocess.run(
        [str(SHARED_TOOLS / "smtp-sink"), "--source"], check=True, capture_output=True, text=True
    )
    source = found.stdout.strip()
    env = dict(os.environ)
    lib = Path(source).parents[1] / "lib" / "postfix"  # …/usr/sbin/smtp-source -> …/usr/lib
    if lib.is_dir():
        env["LD_LIBRARY_PATH"] = str(lib)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [source, *(["-d"] if reuse else []), "-s", str(CONNECTIONS), "-l", str(MESSAGE_SIZE),
         "-m", str(messages), "-f", "bench@example.com", "-t", "sink@example.test",
         f"127.0.0.1:{port}"],
        check=True, env=env,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return messages / elapsed, cpu


def sink_pid(port: int) -> int:
    """The pid of the smtp-sink serving `port` (its pid file, written by the tool)."""
    try:
        pid_file = Path(f"/tmp/smtp-sink-{port}.pid")  # noqa: S108 -- where the tool writes it
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return 0


def template_html(links: bool = False) -> str:
    """About 4 KB of HTML with five placeholders, like a real newsletter (and five links)."""
    paragraph = (
        "<p style='margin:0 0 12px'>Our spring collection is here, with new designs for every "
        "room of the house and free delivery on orders over fifty euros this month.</p>"
    )
    body = "".join(paragraph for _ in range(18))
    if links:
        body += "".join(
            f"<p><a href='https://shop.example/p/{n}'>Product {n}</a></p>" for n in range(5)
        )
    return (
        "<html><body><h1>Hello {first_name}!</h1>"
        "<p>News for {company} in {city}, {country}.</p>"
        f"{body}"
        "<p><a href='{unsubscribe_url}'>Unsubscribe</a></p></body></html>"
    )


def setup(
    recipients: int, port: int, dkim: bool = False, track_clicks: str = "", analyze: bool = True
) -> int:
    """Create the workspace, recipients, template, account and campaign; return its id."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Membership, Role, User, Workspace
    from audience.models import ListMembership, Recipient, RecipientList
    from campaigns.models import Campaign
    from content.models import Template
    from sending.models import AccountKind, AccountStatus, SendingAccount

    owner = User.objects.create_user("bench-send@example.com", "bench-send-password")
    # --track-clicks on/off: the template has five links, rewritten at the start when on.
    workspace = Workspace.objects.create(name="Bench send", track_clicks=track_clicks == "on")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    people = [
        Recipient(
            workspace=workspace,
            email=f"r{i}@example.test",
            first_name=f"Name{i}",
            company=f"Company {i % 997}",
            city="Berlin",
            country="Germany",
        )
        for i in range(recipients)
    ]
    Recipient.objects.bulk_create(people, batch_size=5000)
    everyone = RecipientList.objects.create(workspace=workspace, name="Everyone")
    ids = Recipient.objects.filter(workspace=workspace).values_list("pk", flat=True)
    ListMembership.objects.bulk_create(
        (ListMembership(recipient_list=everyone, recipient_id=pk) for pk in ids.iterator()),
        batch_size=5000,
    )
    template = Template.objects.create(
        workspace=workspace,
        name="Bench",
        subject="Spring news for {first_name}",
        html_body=template_html(links=bool(track_clicks)),
        text_from_html=True,
    )
    account = SendingAccount.objects.create(
        workspace=workspace,
        name="sink",
        from_email="news@bench.example.com",
        kind=AccountKind.SMTP,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        status=AccountStatus.ACTIVE,
        daily_limit=10_000_000,
        min_interval_seconds=0,
    )
    if dkim:  # every message signed (relaxed/relaxed, rsa-sha256, 2048-bit key)
        from sending.services import dkim_key_create

        dkim_key_create(workspace=workspace, domain="bench.example.com", selector="bench")
    campaign = Campaign.objects.create(workspace=workspace, name="Bench", template_id=template.pk)
    campaign.lists.add(everyone)
    campaign.accounts.add(account)
    # A real workspace's recipients were written long before a launch: give the planner the
    # statistics it would have had (autovacuum), not those of an empty table.
    from django.db import connection

    if connection.vendor == "postgresql" and analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return campaign.pk


def start_campaign(campaign_id: int) -> float:
    from campaigns.models import Campaign
    from campaigns.services import campaign_start

    started = time.perf_counter()
    campaign_start(campaign=Campaign.objects.get(pk=campaign_id))
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class SendRun:
    seconds: float
    peak_mb: float
    sent: int
    workers_cpu: float
    database_cpu: float
    sink_cpu: float


def run_workers(
    campaign_id: int, workers: int, sink: int, max_seconds: float | None = None
) -> SendRun:
    """Start the workers and wait for the campaign to finish (or `max_seconds`), measuring
    the CPU of the workers, of their PostgreSQL backends and of the sink (pid `sink`)."""
    from campaigns.models import Campaign, Delivery, DeliveryStatus

    env = {
        **os.environ,
        "SENDING_ALLOW_PRIVATE_HOSTS": "True",
        "SENDING_HELO_NAME": "bench",
        # As many connections in all as smtp-source is given for the limit.
        "SENDING_CONNECTIONS_PER_ACCOUNT": str(max(1, CONNECTIONS // workers)),
    }
    database, sink_cpu = CpuMeter(), CpuMeter()
    database.read(database_backends())
    sink_cpu.read([sink])
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "worker", "--idle", "0.05"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    peak = 0.0
    try:
        while Campaign.objects.get(pk=campaign_id).status in ("launching", "running"):
            peak = max([peak, *(peak_rss_mb(p.pid) for p in procs)])
            database.read(database_backends())
            if all(p.poll() is not None for p in procs):
                raise SystemExit(f"the workers exited ({[p.returncode for p in procs]})")
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        peak = max([peak, *(peak_rss_mb(p.pid) for p in procs)])
        cpu = sum(cpu_seconds(p.pid) for p in procs)
        database.read(database_backends())
        sink_cpu.read([sink])
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    sent = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.SENT).count()
    return SendRun(elapsed, peak, sent, cpu, database.total(), sink_cpu.total())


def per_message(cpu: float, messages: int) -> str:
    return f"{cpu:.1f} s, {cpu / messages * 1e6:.0f} µs/msg" if messages else f"{cpu:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="the sink's port (default: a free one)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop the workers after this long (for memory runs on huge campaigns)",
    )
    parser.add_argument("--dkim", action="store_true", help="sign every message with DKIM")
    parser.add_argument(
        "--track-clicks",
        choices=("on", "off"),
        default="",
        help="five links in the template, tracked (on) or not (off): compare the two rates",
    )
    parser.add_argument(
        "--launch-only", action="store_true", help="measure the launch, send nothing"
    )
    parser.add_argument(
        "--fresh-tables",
        action="store_true",
        help="launch without ANALYZE after filling the tables (as a test does, before autovacuum)",
    )
    args = parser.parse_args()
    db = prepare_database("bench_send", drop_postgres=True, drop_sqlite=True)
    workers = 1 if db == "sqlite" else args.workers
    if not args.port:  # a free port, so that two benchmarks at once do not collide
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    start_sink(args.port)
    sink = sink_pid(args.port)
    try:
        limit, limit_new = 0.0, 0.0
        if not args.launch_only:
            limit, limit_new = measure_limits(args.port, args.recipients, sink)
        campaign_id = setup(
            args.recipients,
            args.port,
            dkim=args.dkim,
            track_clicks=args.track_clicks,
            analyze=not args.fresh_tables,
        )
        launch = start_campaign(campaign_id)
        print(f"launch of {args.recipients:,} recipients: {launch:.2f} s")
        if args.launch_only:
            print(f"RESULT recipients={args.recipients} launch_s={launch:.2f} db={db}")
            return
        run = run_workers(campaign_id, workers, sink, args.max_seconds)
    finally:
        stop_sink(args.port)
    total = launch + run.seconds
    if args.max_seconds is not None:
        total = run.seconds  # a capped run measures the steady rate, not launch to finish
    rate = run.sent / total
    print(f"sent {run.sent:,} in {total:.1f} s with {workers} worker(s): {rate:,.0f} msg/s")
    # Where the time goes on a shared machine: the CPU each part used per message sent.
    print(f"CPU, workers: {per_message(run.workers_cpu, run.sent)}")
    if db == "postgresql":
        print(f"CPU, PostgreSQL backends: {per_message(run.database_cpu, run.sent)}")
    print(f"CPU, smtp-sink: {per_message(run.sink_cpu, run.sent)}")
    print(f"peak worker memory: {run.peak_mb:.0f} MB")
    print(
        f"RESULT recipients={args.recipients} rate={rate:.0f} limit={limit:.0f} "
        f"ratio={rate / limit:.3f} limit_new_sessions={limit_new:.0f} launch_s={launch:.2f} "
        f"worker_cpu_us={cpu_us(run.workers_cpu, run.sent)} "
        f"db_cpu_us={cpu_us(run.database_cpu, run.sent)} "
        f"sink_cpu_us={cpu_us(run.sink_cpu, run.sent)} "
        f"peak_rss_mb={run.peak_mb:.0f} db={db} workers={workers}"
        + (" dkim=yes" if args.dkim else "")
        + (f" track_clicks={args.track_clicks}" if args.track_clicks else "")
    )


def measure_limits(port: int, messages: int, sink: int) -> tuple[float, float]:
    """The machine's limit (sessions reused, as the engine does: the reference of `ratio`)
    and, for comparison only, smtp-source with a new session per message."""
    sink_cpu = CpuMeter()
    sink_cpu.read([sink])
    limit, source_cpu = machine_limit(port, messages, reuse=True)
    sink_cpu.read([sink])
    print(
        f"limit: smtp-source -d -> smtp-sink, {CONNECTIONS} reused sessions: {limit:,.0f} msg/s"
        f" (CPU: smtp-source {per_message(source_cpu, messages)},"
        f" smtp-sink {per_message(sink_cpu.total(), messages)})"
    )
    limit_new, _ = machine_limit(port, messages, reuse=False)
    print(
        f"for comparison, smtp-source without -d (a new session per message, not the limit):"
        f" {limit_new:,.0f} msg/s"
    )
    return limit, limit_new


def cpu_us(cpu: float, messages: int) -> str:
    return f"{cpu / messages * 1e6:.0f}" if messages else "0"


if __name__ == "__main__":
    main()
