"""End-to-end sending speed against the machine's own limit, measured in the same run.

The limit: Postfix's `smtp-source` pushing the same number of 4 KB messages over the same
number of connections into `smtp-sink` (../shared/tools/smtp-sink), on 127.0.0.1. Ours: a
campaign of N recipients with a 4 KB personalised template (five placeholders), from launch
to the last recorded result, sent by W worker processes (`manage.py worker`) into the same
sink. It prints both rates, their ratio, the launch time and the workers' peak memory.

    make bench-send                                    # SQLite, one embedded worker, 100,000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_send make bench-send \
        BENCH_ARGS="--workers 2"
    .venv/bin/python bench/bench_send.py --recipients 20000

With DATABASE_URL set to PostgreSQL that database is used (created when missing); otherwise a
fresh SQLite file (one worker: SQLite allows no more). Last line:
RESULT recipients=… rate=… limit=… ratio=… peak_rss_mb=… db=… workers=…
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_TOOLS = ROOT.parent / "shared" / "tools"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")
# As in production: DEBUG off (with it on, Django keeps and formats every query it runs),
# which needs a secret key and an encryption key of the benchmark's own.
os.environ.setdefault("DEBUG", "False")
os.environ.setdefault("SECRET_KEY", "bench-send-only-secret-key-" + "0123456789" * 5)
os.environ.setdefault(
    "ENCRYPTION_KEYS", base64.urlsafe_b64encode(b"bench-send-encryption-key-32byte").decode()
)

CONNECTIONS = 16
MESSAGE_SIZE = 4096


def prepare_database() -> str:
    """Point Django at the benchmark database; create a PostgreSQL one when missing."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return "postgresql"
    path = ROOT / "var" / "bench" / "bench_send.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return "sqlite"


def start_sink(port: int) -> None:
    subprocess.run([str(SHARED_TOOLS / "smtp-sink"), str(port)], check=True, capture_output=True)


def stop_sink(port: int) -> None:
    subprocess.run([str(SHARED_TOOLS / "smtp-sink"), "--stop", str(port)], check=False)


def machine_limit(port: int, messages: int) -> float:
    """smtp-source into smtp-sink: messages per second with our size and connection count."""
    found = subprocess.run(
        [str(SHARED_TOOLS / "smtp-sink"), "--source"], check=True, capture_output=True, text=True
    )
    source = found.stdout.strip()
    env = dict(os.environ)
    lib = Path(source).parents[1] / "lib" / "postfix"  # …/usr/sbin/smtp-source -> …/usr/lib
    if lib.is_dir():
        env["LD_LIBRARY_PATH"] = str(lib)
    started = time.perf_counter()
    subprocess.run(
        [source, "-s", str(CONNECTIONS), "-l", str(MESSAGE_SIZE), "-m", str(messages),
         "-f", "bench@example.com", "-t", "sink@example.test", f"127.0.0.1:{port}"],
        check=True, env=env,
    )  # fmt: skip
    return messages / (time.perf_counter() - started)


def template_html() -> str:
    """About 4 KB of HTML with five placeholders, like a real newsletter."""
    paragraph = (
        "<p style='margin:0 0 12px'>Our spring collection is here, with new designs for every "
        "room of the house and free delivery on orders over fifty euros this month.</p>"
    )
    body = "".join(paragraph for _ in range(18))
    return (
        "<html><body><h1>Hello {first_name}!</h1>"
        "<p>News for {company} in {city}, {country}.</p>"
        f"{body}"
        "<p><a href='{unsubscribe_url}'>Unsubscribe</a></p></body></html>"
    )


def setup(recipients: int, port: int, dkim: bool = False) -> int:
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
    workspace = Workspace.objects.create(name="Bench send")
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
        html_body=template_html(),
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

    if connection.vendor == "postgresql":
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a live process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_workers(
    campaign_id: int, workers: int, max_seconds: float | None = None
) -> tuple[float, float, int]:
    """Start the workers and wait for the campaign to finish (or `max_seconds`);
    (seconds, peak MB, sent)."""
    from campaigns.models import Campaign, Delivery, DeliveryStatus

    env = {
        **os.environ,
        "SENDING_ALLOW_PRIVATE_HOSTS": "True",
        "SENDING_HELO_NAME": "bench",
        # As many connections in all as smtp-source is given for the limit.
        "SENDING_CONNECTIONS_PER_ACCOUNT": str(max(1, CONNECTIONS // workers)),
    }
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
        while Campaign.objects.get(pk=campaign_id).status == "running":
            peak = max([peak, *(peak_rss_mb(p.pid) for p in procs)])
            if all(p.poll() is not None for p in procs):
                raise SystemExit(f"the workers exited ({[p.returncode for p in procs]})")
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        peak = max([peak, *(peak_rss_mb(p.pid) for p in procs)])
        cpu = sum(cpu_seconds(p.pid) for p in procs)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    sent = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.SENT).count()
    if sent:  # where the time goes on a shared machine: our own CPU per message
        print(f"workers' CPU: {cpu:.1f} s in all, {cpu / sent * 1e6:.0f} µs per message")
    return elapsed, peak, sent


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
    args = parser.parse_args()
    db = prepare_database()
    workers = 1 if db == "sqlite" else args.workers
    if not args.port:  # a free port, so that two benchmarks at once do not collide
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    start_sink(args.port)
    try:
        limit = machine_limit(args.port, args.recipients)
        print(f"limit: smtp-source -> smtp-sink, {CONNECTIONS} connections: {limit:,.0f} msg/s")
        campaign_id = setup(args.recipients, args.port, dkim=args.dkim)
        launch = start_campaign(campaign_id)
        print(f"launch of {args.recipients:,} recipients: {launch:.2f} s")
        elapsed, peak, sent = run_workers(campaign_id, workers, args.max_seconds)
    finally:
        stop_sink(args.port)
    total = launch + elapsed
    if args.max_seconds is not None:
        total = elapsed  # a capped run measures the steady rate, not launch to finish
    rate = sent / total
    print(f"sent {sent:,} in {total:.1f} s with {workers} worker(s): {rate:,.0f} msg/s")
    print(f"peak worker memory: {peak:.0f} MB")
    print(
        f"RESULT recipients={args.recipients} rate={rate:.0f} limit={limit:.0f} "
        f"ratio={rate / limit:.3f} peak_rss_mb={peak:.0f} db={db} workers={workers}"
        + (" dkim=yes" if args.dkim else "")
    )


if __name__ == "__main__":
    main()
