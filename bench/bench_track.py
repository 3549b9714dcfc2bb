"""Open and click hits against the real web server: hits per second, p99, nothing lost.

A campaign of N deliveries (open and click tracking on, five links) is made and marked sent an
hour ago; the web server (postroom.web, as production runs it) serves the app on a free
loopback port with PostgreSQL; wrk (Debian's, installed with apt-get when missing and the
bench runs as root) sends a mix of pixel and tracked-link hits spread over the deliveries for
D seconds. Then every answered hit (200 for
the pixel, 302 for a link) must be an event in the database.

    make bench-track
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_track make bench-track \
        BENCH_ARGS="--seconds 20 --workers 2 --connections 32"

The database named by DATABASE_URL (PostgreSQL; postroom_bench_track on 127.0.0.1 when unset)
is dropped and made again. Last line:
RESULT hits_per_s=… p99_ms=… answered=… recorded=… db=… reference_hits_per_s=… ratio=…

The reference is the same wrk load against the same server (workers, threads) serving a
fixed 200 with no Django and no database (bench/track_reference.py), measured in the same
run just before: on a machine other work shares, the ratio says more than the rate.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database as fresh_database  # noqa: E402 -- beside this script
from bench_database import production_settings  # noqa: E402 -- beside this script
from serving import wait_until_answering  # noqa: E402 -- beside this script

production_settings("bench-track")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postroom_bench_track")

LINKS = 5

# wrk: each connection walks its own part of the list of paths.
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local counter = 0
local step = 1
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end
function init(args)
  position = offset or 0
end
function request()
  position = position + 1
  return wrk.format("GET", paths[(position % #paths) + 1])
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench-track: installing Debian's wrk with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("bench-track needs wrk: apt-get install wrk (as root)")


def prepare_database() -> str:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench-track measures the web server with PostgreSQL: set DATABASE_URL to it"
        )
    return fresh_database("bench_track", drop_postgres=True, drop_sqlite=True)


def setup(deliveries: int) -> list[str]:
    """A sent campaign with tracking on; the paths of its pixels and links."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from accounts.models import Workspace
    from audience.models import ListMembership, Recipient, RecipientList
    from campaigns import links
    from campaigns.models import Campaign, Delivery, DeliveryStatus
    from campaigns.services import campaign_start
    from content.models import Template
    from sending.models import AccountKind, AccountStatus, SendingAccount

    workspace = Workspace.objects.create(name="Bench track", track_opens=True, track_clicks=True)
    Recipient.objects.bulk_create(
        (
            Recipient(workspace=workspace, email=f"r{i}@example.test", first_name=f"N{i}")
            for i in range(deliveries)
        ),
        batch_size=5000,
    )
    everyone = RecipientList.objects.create(workspace=workspace, name="Everyone")
    ListMembership.objects.bulk_create(
        (
            ListMembership(recipient_list=everyone, recipient_id=pk)
            for pk in Recipient.objects.values_list("pk", flat=True).iterator()
        ),
        batch_size=5000,
    )
    body = "".join(
        f'<p><a href="https://shop.example/p/{n}">Product {n}</a></p>' for n in range(LINKS)
    )
    template = Template.objects.create(
        workspace=workspace, name="Bench", subject="Hi {first_name}", html_body=body
    )
    account = SendingAccount.objects.create(
        workspace=workspace, name="sink", from_email="news@bench.example.com",
        kind=AccountKind.SMTP, smtp_host="127.0.0.1", smtp_port=2525, smtp_security="none",
        status=AccountStatus.ACTIVE,
    )  # fmt: skip
    campaign = Campaign.objects.create(workspace=workspace, name="Bench", template_id=template.pk)
    campaign.lists.add(everyone)
    campaign.accounts.add(account)
    campaign_start(campaign=campaign)
    sent_at = timezone.now() - datetime.timedelta(hours=1)
    Delivery.objects.update(status=DeliveryStatus.SENT, sent_at=sent_at)
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    paths = []
    for i, pk in enumerate(Delivery.objects.values_list("pk", flat=True)):
        token = links.token_for(pk)
        paths.append(f"/o/{token}/")
        paths.append(f"/c/{token}/{i % LINKS}")
    connections.close_all()
    return paths


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    port: int, workers: int, threads: int, app: str = "postroom.wsgi:application"
) -> subprocess.Popen[bytes]:
    """The web server as production runs it (postroom.web: granian, threads per worker)
    serving `app`: Postroom, or the reference (bench/track_reference.py)."""
    env = {
        **os.environ,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")]),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "postroom.web", "--app", app, "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--threads", str(threads)],
        cwd=ROOT, env=env,
    )  # fmt: skip
    wait_until_answering(server, port)
    return server


def run_wrk(wrk: str, port: int, paths_file: str, seconds: int, connections: int) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    env = {**os.environ, "BENCH_PATHS": paths_file}
    done = subprocess.run(
        [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", script.name, f"http://127.0.0.1:{port}"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    os.unlink(script.name)
    return done.stdout


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time these live processes have used."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def server_pids(server: subprocess.Popen[bytes]) -> tuple[list[int], list[int]]:
    """The web server's main process and workers, and the PostgreSQL backends serving the
    benchmark's database: where a hit's CPU goes (wrk's own is left out)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return [server.pid, *map(int, children)], backends


def measure_reference(wrk: str, paths_file: str, args: argparse.Namespace) -> float:
    """Requests per second of the same load against the same web server serving a fixed 200
    (bench/track_reference.py), measured in the same run: the machine's limit at the time."""
    port = free_port()
    server = start_server(port, args.workers, args.threads, app="track_reference:application")
    try:
        run_wrk(wrk, port, paths_file, 2, args.connections)
        out = run_wrk(wrk, port, paths_file, args.seconds, args.connections)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def milliseconds(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="web server processes")
    parser.add_argument(
        "--threads", type=int, default=16, help="threads per worker (as deploy runs it)"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument(
        "--app",
        default="postroom.wsgi:application",
        help="what the web server serves: postroom.wsgi:django_application answers hits one by one "
        "through Django (the path before hits were answered in front of it)",
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    db = prepare_database()
    paths = setup(args.deliveries)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(paths) + "\n")
    print(f"load before: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} CPUs)")
    reference = measure_reference(wrk, listing.name, args)
    port = free_port()
    server = start_server(port, args.workers, args.threads, app=args.app)
    try:
        warm = run_wrk(wrk, port, listing.name, 2, args.connections)  # connections, caches
        answered_warm = int(re.search(r"(\d+) requests in", warm).group(1))  # type: ignore[union-attr]
        web, backends = server_pids(server)
        web_before, db_before = cpu_seconds(web), cpu_seconds(backends)
        out = run_wrk(wrk, port, listing.name, args.seconds, args.connections)
        web_cpu, db_cpu = cpu_seconds(web) - web_before, cpu_seconds(backends) - db_before
        cpu = web_cpu + db_cpu
        load = os.getloadavg()[0]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        os.unlink(listing.name)
    print(out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    answered = total - (int(bad.group(1)) if bad else 0)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = milliseconds(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    from tracking.models import Event

    recorded = Event.objects.count() - answered_warm
    print(f"load during: {load:.2f}; answered {answered:,}, recorded {recorded:,}")
    if total:  # on a shared machine the rate says little; the CPU a hit costs says more
        per_hit = cpu / total * 1e6
        print(
            f"CPU per hit: web server {web_cpu / total * 1e6:,.0f} µs, "
            f"PostgreSQL {db_cpu / total * 1e6:,.0f} µs"
        )
        print(
            f"server CPU (web server and its PostgreSQL backends): {per_hit:,.0f} µs per hit, "
            f"so {os.cpu_count() or 1} idle CPUs would answer at most "
            f"{(os.cpu_count() or 1) * 1e6 / per_hit:,.0f} hits/s"
        )
    if recorded < answered:
        print(f"LOST: {answered - recorded} answered hits are not in the database")
    print(
        f"reference (the web server answering a fixed 200, no Django, no database): "
        f"{reference:.0f} requests/s; hits are {rate / reference:.0%} of it"
    )
    print(
        f"RESULT hits_per_s={rate:.0f} p99_ms={p99:.1f} answered={answered} "
        f"recorded={recorded} db={db} reference_hits_per_s={reference:.0f} "
        f"ratio={rate / reference:.2f}"
    )


if __name__ == "__main__":
    main()
