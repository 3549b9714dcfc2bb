"""The web interface and the API under 200 users while a 100,000-recipient campaign sends.

A fresh PostgreSQL database (postroom_bench_load on 127.0.0.1 unless DATABASE_URL names
another; dropped and made again) gets a workspace with its owner, one API key per simulated
user, N recipients in one list and an SMTP account pointing at Postfix's smtp-sink on a free
loopback port. The web server starts as production runs it (`python -m postroom.web`, granian,
DEBUG off, collected static files, Redis as the cache) on 127.0.0.1, beside one embedded
worker (`manage.py worker`). Then:

1. baseline: a first campaign to the N recipients is sent with no load: its send rate;
2. load: a second campaign to the same N is queued as locust (bench/locustfile.py, from its
   own venv: Postroom does not depend on it) starts U users, R a second, for T seconds; the
   send rate while the load runs (after the ramp) comes from the deliveries' sent_at.

It prints locust's table per page, requests/s, median/p95/p99 overall and for the slowest
pages, failures and the 5xx answers of the web server's access log, the send rate before and
during the load, and last:
RESULT req_s=… median_ms=… p95_ms=… p99_ms=… failures=… http_5xx=… send_before=… send_during=…
send_ratio=… recipients=… users=… web_nice=… worker_nice=… web_cpu_shares=… worker_cpu_shares=…

    make bench-load
    make bench-load BENCH_ARGS="--web-nice 10"      # the web server below the worker
    .venv/bin/python bench/bench_load.py --locust var/locust-venv/bin/locust --users 50

`--web-nice` and `--worker-nice` start the web server or the worker at that nice value, as a
deployment can (systemd's Nice=, `nice -n` in a compose command): the kernel's scheduler then
gives the other the CPU first when both want it. Nice values weigh processes of one control
group only; containers and systemd units are weighed as groups. `--web-cpu-shares` and
`--worker-cpu-shares` start each in a CPU control group of its own with that weight, as
compose's `cpu_shares` does for a container (1024 is the default weight; needs root and the
cgroup v1 cpu controller, or cgroup v2, where it becomes cpu.weight = shares * 100 / 1024):

    make bench-load BENCH_ARGS="--web-cpu-shares 128 --worker-cpu-shares 1024"
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database, production_settings  # noqa: E402 -- beside this script
from bench_send import (  # noqa: E402
    sink_pid,
    start_sink,
    stop_sink,
    template_html,
)
from processes import CpuMeter, database_backends  # noqa: E402 -- beside this script
from serving import wait_until_answering  # noqa: E402 -- beside this script

OUT = ROOT / "var" / "bench" / "load"
# Production settings of the benchmark's own (DEBUG off needs real keys); its own var/ so
# that collectstatic writes nowhere another checkout's server reads.
production_settings("bench-load")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postroom_bench_load")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SESSION_COOKIE_SECURE", "False")
os.environ.setdefault("CSRF_COOKIE_SECURE", "False")
os.environ.setdefault("POSTROOM_VAR_DIR", str(OUT / "var"))

PASSWORD = "bench-load-password-9f3k"  # noqa: S105 -- a throwaway database's owner
EMAIL = "owner@bench-load.example"


@dataclass
class Setup:
    done: int  # the baseline campaign
    live: int  # the one sent under load
    keys: Path


def setup(recipients: int, users: int, port: int) -> Setup:
    """The workspace, its owner, API keys, recipients, account and both campaigns."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    from django.db import connection
    from django.utils import timezone

    from accounts.keys.services import api_key_create
    from accounts.models import Role, User
    from accounts.services import workspace_create
    from audience.models import RecipientList
    from campaigns.models import Campaign
    from content.models import Template
    from sending.models import AccountKind, AccountStatus, SendingAccount

    owner = User.objects.create_user(EMAIL, PASSWORD, email_verified_at=timezone.now())
    workspace = workspace_create(name="Bench load", owner=owner)
    everyone = RecipientList.objects.create(workspace=workspace, name="Everyone")
    fill_recipients(workspace.pk, everyone.pk, recipients)
    keys = OUT / "api-keys.txt"
    keys.write_text(
        "".join(
            api_key_create(
                workspace=workspace, name=f"user {n}", role=Role.EDITOR, created_by=owner
            ).raw
            + "\n"
            for n in range(users)
        )
    )
    template = Template.objects.create(
        workspace=workspace,
        name="Spring news",
        subject="Spring news for {first_name}",
        html_body=template_html(),
        text_from_html=True,
    )
    account = SendingAccount.objects.create(
        workspace=workspace, name="sink", from_email="news@bench.example.com",
        kind=AccountKind.SMTP, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        status=AccountStatus.ACTIVE, daily_limit=10_000_000, min_interval_seconds=0,
    )  # fmt: skip
    ids = []
    for name in ("Spring news (baseline)", "Spring news (under load)"):
        campaign = Campaign.objects.create(workspace=workspace, name=name, template_id=template.pk)
        campaign.lists.add(everyone)
        campaign.accounts.add(account)
        ids.append(campaign.pk)
    with connection.cursor() as cursor:  # the statistics autovacuum would have made by now
        cursor.execute("ANALYZE")
    return Setup(done=ids[0], live=ids[1], keys=keys)


def fill_recipients(workspace_id: int, list_id: int, count: int) -> None:
    """`count` recipients in the list, in two set-based INSERTs (as a big import leaves them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audience_recipient (workspace_id, email, first_name, last_name, company,
                city, country, status, fields, comment, created_at, updated_at)
            SELECT %s, 'r' || n || '@example.test', 'Name' || n, 'Last' || (n %% 5003),
                'Company ' || (n %% 997), 'Berlin', 'Germany', 'active', '{}', '',
                now() - make_interval(secs => n), now() - make_interval(secs => n)
            FROM generate_series(0, %s - 1) AS n
            """,
            [workspace_id, count],
        )
        cursor.execute(
            """
            INSERT INTO audience_listmembership (recipient_list_id, recipient_id, added_at)
            SELECT %s, id, now() FROM audience_recipient WHERE workspace_id = %s
            """,
            [list_id, workspace_id],
        )


class Autovacuum(threading.Thread):
    """Autovacuum's work when the server runs without it (`autovacuum = off`, as a shared test
    server may): every minute, VACUUM ANALYZE each table past autovacuum's default thresholds.
    Without it the deliveries and attempts of a launch keep the statistics of empty tables
    (plans for no rows) and no visibility map (no index-only scans), which no production
    database with autovacuum has for long."""

    QUERY = """
        SELECT relname FROM pg_stat_user_tables
        WHERE n_mod_since_analyze > 50 + 0.1 * n_live_tup
           OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup
           OR n_dead_tup > 50 + 0.2 * n_live_tup
    """

    def __init__(self, dsn: str, every: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.dsn, self.every, self.stopping = dsn, every, threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            if conn.execute("SHOW autovacuum").fetchone() != ("off",):
                return
            print("PostgreSQL runs without autovacuum: the benchmark does its work every minute")
            while not self.stopping.wait(self.every):
                for (table,) in conn.execute(self.QUERY).fetchall():
                    conn.execute(f'VACUUM ANALYZE "{table}"')


class CpuWatch(threading.Thread):
    """CPU used during the load by each part: the web server, the worker, the PostgreSQL
    backends of this database and locust (read every second: backends come and go)."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        super().__init__(daemon=True)
        self.parts = parts
        self.meters = {name: CpuMeter() for name in [*parts, "postgresql"]}
        self.stopping = threading.Event()

    def pids(self, name: str) -> list[int]:
        if name == "postgresql":
            return database_backends()
        found = []
        for pid in self.parts[name]:  # the process and its children (granian's workers)
            found.append(pid)
            with contextlib.suppress(OSError):
                found += map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        return found

    def run(self) -> None:
        while True:
            for name, meter in self.meters.items():
                meter.read(self.pids(name))
            if self.stopping.wait(1.0):
                for name, meter in self.meters.items():
                    meter.read(self.pids(name))
                return

    def report(self, seconds: float) -> str:
        return ", ".join(
            f"{name} {meter.total() / seconds:.2f}" for name, meter in self.meters.items()
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def niced(command: list[str], nice: int) -> list[str]:
    return ["nice", "-n", str(nice), *command] if nice else command


CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")


def cpu_group(name: str, shares: int) -> Path | None:
    """A CPU control group `postroom-bench-<name>` weighted `shares` (compose's cpu_shares);
    None when shares is 0 (the process stays in this one's group)."""
    if not shares:
        return None
    if (CGROUP_V1_CPU / "cpu.shares").exists():
        group = CGROUP_V1_CPU / f"postroom-bench-{name}"
        group.mkdir(exist_ok=True)
        (group / "cpu.shares").write_text(str(shares))
    elif (CGROUP_V2 / "cgroup.controllers").exists():
        (CGROUP_V2 / "cgroup.subtree_control").write_text("+cpu")
        group = CGROUP_V2 / f"postroom-bench-{name}"
        group.mkdir(exist_ok=True)
        (group / "cpu.weight").write_text(str(max(1, min(10_000, shares * 100 // 1024))))
    else:
        raise SystemExit("--*-cpu-shares needs a cgroup cpu controller under /sys/fs/cgroup")
    return group


def in_group(command: list[str], group: Path | None) -> list[str]:
    """`command`, run inside `group` with every process it starts (granian's workers)."""
    if group is None:
        return command
    return ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *command]


def remove_group(group: Path | None) -> None:
    if group is not None:
        with contextlib.suppress(OSError):  # a process still in it: left for the next run
            group.rmdir()


def start_web(
    port: int, workers: int, threads: int, nice: int, group: Path | None = None
) -> subprocess.Popen[bytes]:
    """The web server as production starts it, its access log in OUT/web.log."""
    log = (OUT / "web.log").open("wb")
    env = {**os.environ, "SITE_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "postroom.web", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--threads", str(threads), "--access-log"]  # fmt: skip
    server = subprocess.Popen(
        in_group(niced(command, nice), group),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until_answering(server, port, f" (see {OUT / 'web.log'})")
    return server


def start_worker(nice: int, group: Path | None = None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SENDING_ALLOW_PRIVATE_HOSTS": "True",
        "SENDING_HELO_NAME": "bench",
        "SENDING_CONNECTIONS_PER_ACCOUNT": os.environ.get("SENDING_CONNECTIONS_PER_ACCOUNT", "16"),
    }
    log = (OUT / "worker.log").open("wb")
    command = [sys.executable, str(ROOT / "manage.py"), "worker"]
    return subprocess.Popen(
        in_group(niced(command, nice), group), env=env, stdout=log, stderr=subprocess.STDOUT
    )


def queue_launch(campaign_id: int) -> float:
    """Start a campaign as a person's click does (the worker launches it); the moment."""
    from campaigns.models import Campaign
    from campaigns.services import campaign_queue_launch

    campaign_queue_launch(campaign=Campaign.objects.get(pk=campaign_id))
    return time.time()


def status(campaign_id: int) -> str:
    from campaigns.models import Campaign

    return str(Campaign.objects.values_list("status", flat=True).get(pk=campaign_id))


def sent_between(campaign_id: int, start: float, end: float) -> int:
    from campaigns.models import Delivery

    return Delivery.objects.filter(
        campaign_id=campaign_id, sent_at__gte=moment(start), sent_at__lt=moment(end)
    ).count()


def sent_span(campaign_id: int) -> tuple[int, float, float]:
    """How many deliveries of the campaign were sent, the first and last sent_at (epoch)."""
    from django.db.models import Count, Max, Min

    from campaigns.models import Delivery

    found = Delivery.objects.filter(campaign_id=campaign_id, sent_at__isnull=False).aggregate(
        n=Count("id"), first=Min("sent_at"), last=Max("sent_at")
    )
    if not found["n"]:
        return 0, 0.0, 0.0
    return found["n"], found["first"].timestamp(), found["last"].timestamp()


def moment(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def baseline(campaign_id: int, worker: subprocess.Popen[bytes], limit: float) -> float:
    """Send the first campaign with no load; its rate from first to last sent_at."""
    queue_launch(campaign_id)
    deadline = time.monotonic() + limit
    while status(campaign_id) in ("launching", "running") and time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited ({worker.returncode}): see {OUT / 'worker.log'}")
        time.sleep(0.5)
    sent, first, last = sent_span(campaign_id)
    rate = sent / (last - first) if last > first else 0.0
    print(f"baseline (no load): {sent:,} sent in {last - first:.1f} s: {rate:,.0f} msg/s")
    return rate


def run_locust(
    locust: str, port: int, s: Setup, args: argparse.Namespace, web: Any, worker: Any
) -> float:
    """Queue the live campaign and run locust headless; the moment the load started."""
    env = {
        **os.environ,
        "LOAD_EMAIL": EMAIL,
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_KEYS": str(s.keys),
        "LOAD_DONE": str(s.done),
        "LOAD_LIVE": str(s.live),
        "LOAD_RECIPIENTS": str(args.recipients),
        "LOAD_TIMES": str(OUT / "times.csv"),
    }
    (OUT / "times.csv").unlink(missing_ok=True)
    started = queue_launch(s.live)
    locust_proc = subprocess.Popen(
        [locust, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
         "-u", str(args.users), "-r", str(args.rate), "-t", f"{args.seconds}s",
         "--host", f"http://127.0.0.1:{port}", "--csv", str(OUT / "locust"),
         "--only-summary", "--loglevel", "WARNING"],
        env=env,
    )  # fmt: skip
    watch = CpuWatch({"web": [web.pid], "worker": [worker.pid], "locust": [locust_proc.pid]})
    watch.start()
    locust_proc.wait()
    watch.stopping.set()
    watch.join()
    print(f"CPU during the load (cores): {watch.report(time.time() - started)}")
    return started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


Timing = tuple[float, str, float, int]  # start (epoch), page, milliseconds, HTTP status


def timings() -> list[Timing]:
    """Every request of the load (times.csv): when it started, its page, time and status."""
    rows = []
    for line in (OUT / "times.csv").read_text().splitlines():
        start, rest = line.split(",", 1)
        label, took, status = rest.rsplit(",", 2)
        rows.append((float(start), label, float(took), int(status)))
    return rows


def signed_in_at(rows: list[Timing]) -> float:
    """When the last sign-in ended: before, the users' sign-ins (Argon2id) queue the rest."""
    return max((t + ms / 1000 for t, name, ms, _ in rows if name == "login"), default=0.0)


def window(rows: list[Timing], start: float, end: float) -> tuple[float, str]:
    """The p95 of the requests started in [start, end), and a line of their figures with the
    slowest pages' p95."""
    inside = [(name, ms, code) for t, name, ms, code in rows if start <= t < end]
    if not inside:
        return 0.0, "no request"
    times = [ms for _, ms, _ in inside]
    names: dict[str, list[float]] = {}
    for name, ms, _ in inside:
        names.setdefault(name, []).append(ms)
    slowest = sorted(names.items(), key=lambda kv: -percentile(kv[1], 0.95))[:4]
    rate = len(inside) / max(end - start, 1.0)
    return (
        percentile(times, 0.95),
        (
            f"{len(inside)} requests, {rate:.1f} req/s; median {percentile(times, 0.5):.0f} ms, "
            f"p95 {percentile(times, 0.95):.0f} ms, p99 {percentile(times, 0.99):.0f} ms; "
            f"5xx {sum(1 for *_, code in inside if code >= 500)}; slowest p95: "
            + ", ".join(f"{n} {percentile(v, 0.95):.0f} ms" for n, v in slowest)
        ),
    )


def read_stats() -> tuple[list[dict[str, str]], dict[str, str]]:
    with (OUT / "locust_stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return [r for r in rows if r["Name"] != "Aggregated"], total


def server_errors() -> tuple[int, dict[str, int]]:
    """5xx answers in the web server's access log, and how many per path."""
    per_path: dict[str, int] = {}
    line = re.compile(r'"[A-Z]+ (\S+) [^"]*" (5\d\d) ')
    for text in (OUT / "web.log").read_text(errors="replace").splitlines():
        found = line.search(text)
        if found:
            per_path[found.group(1)] = per_path.get(found.group(1), 0) + 1
    return sum(per_path.values()), per_path


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rate", type=int, default=20, help="users started a second")
    parser.add_argument("--seconds", type=int, default=120, help="the load's length")
    parser.add_argument("--workers", type=int, default=2, help="web server processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per web process")
    parser.add_argument("--web-nice", type=int, default=0, help="nice value of the web server")
    parser.add_argument("--worker-nice", type=int, default=0, help="nice value of the worker")
    parser.add_argument(
        "--web-cpu-shares", type=int, default=0, help="the web server's CPU group weight"
    )
    parser.add_argument(
        "--worker-cpu-shares", type=int, default=0, help="the worker's CPU group weight"
    )
    parser.add_argument(
        "--log-slow", type=int, default=0,
        help="log statements slower than this many ms (PostgreSQL's log), for this database only",
    )  # fmt: skip
    parser.add_argument("--locust", default=str(ROOT / "var" / "locust-venv" / "bin" / "locust"))
    args = parser.parse_args()
    # SIGTERM (a timeout, a kill) stops the web server, worker and sink as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not Path(args.locust).exists():
        raise SystemExit(f"no locust at {args.locust}: `make bench-load` installs it there")
    OUT.mkdir(parents=True, exist_ok=True)
    db = prepare_database("bench_load", drop_postgres=True, drop_sqlite=True)
    if db != "postgresql":
        raise SystemExit("bench-load measures PostgreSQL: set DATABASE_URL to it")
    sink_port, web_port = free_port(), free_port()
    started_at = time.perf_counter()
    s = setup(args.recipients, args.users, sink_port)
    print(f"setup: {args.recipients:,} recipients, {time.perf_counter() - started_at:.0f} s")
    from django.db import connection, connections

    if args.log_slow:  # before the servers connect; the database (and the setting) goes next run
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER DATABASE {connection.settings_dict['NAME']} "
                f"SET log_min_duration_statement = {int(args.log_slow)}"
            )
    start_sink(sink_port)
    autovacuum = Autovacuum(os.environ["DATABASE_URL"])
    autovacuum.start()
    web = worker = None
    web_group = cpu_group("web", args.web_cpu_shares)
    worker_group = cpu_group("worker", args.worker_cpu_shares)
    try:
        web = start_web(web_port, args.workers, args.threads, args.web_nice, web_group)
        worker = start_worker(args.worker_nice, worker_group)
        before = baseline(s.done, worker, limit=600)
        connections.close_all()
        started = run_locust(args.locust, web_port, s, args, web, worker)
        ended = time.time()
    finally:
        for proc in (web, worker):
            if proc is not None:
                stop(proc)
        stop_sink(sink_port)
        for group in (web_group, worker_group):
            remove_group(group)
        autovacuum.stopping.set()
        if args.log_slow:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"ALTER DATABASE {connection.settings_dict['NAME']} "
                    "RESET log_min_duration_statement"
                )
        print(f"sink pid was {sink_pid(sink_port) or 'gone'}")
    report(s, args, before, started, ended)


def report(s: Setup, args: argparse.Namespace, before: float, started: float, ended: float) -> None:
    rows, total = read_stats()
    print(f"\n{'page':36} {'n':>6} {'fail':>5} {'med':>6} {'p95':>6} {'p99':>6} {'max':>7}")
    for r in sorted(rows, key=lambda r: -float(r["95%"])):
        print(
            f"{r['Name'][:36]:36} {r['Request Count']:>6} {r['Failure Count']:>5} "
            f"{r['50%']:>6} {r['95%']:>6} {r['99%']:>6} {float(r['Max Response Time']):>7.0f}"
        )
    errors, per_path = server_errors()
    # The send rate while the users are all there: from the end of the ramp to the end of the
    # load, or to the live campaign's last message when it finished before.
    ramp_end = started + args.users / args.rate
    sent, _first, last = sent_span(s.live)
    window_end = min(ended, last) if sent else ended
    during_sent = sent_between(s.live, ramp_end, window_end)
    during = during_sent / (window_end - ramp_end) if window_end > ramp_end else 0.0
    print(
        f"\nrequests: {total['Request Count']} in {args.seconds} s, "
        f"{float(total['Requests/s']):.1f} req/s; median {total['50%']} ms, "
        f"p95 {total['95%']} ms, p99 {total['99%']} ms; failures {total['Failure Count']}, "
        f"5xx in the access log {errors} {per_path or ''}"
    )
    print(
        f"sending: {before:,.0f} msg/s with no load; {during:,.0f} msg/s under the load "
        f"({during_sent:,} sent in the {window_end - ramp_end:.0f} s after the ramp; "
        f"{sent:,} of {args.recipients:,} sent by the end, status {status(s.live)})"
    )
    # After the sign-ins, two regimes: while the campaign sends, the web shares the two cores
    # with the worker, its PostgreSQL backend and the sink; once it has ended, it has them.
    requests = timings()
    signed_in = signed_in_at(requests)
    steady_end = min(ended, last) if sent else ended
    steady_p95, steady = window(requests, signed_in, steady_end)
    steady_sent = sent_between(s.live, signed_in, steady_end)
    steady_send = steady_sent / (steady_end - signed_in) if steady_end > signed_in else 0.0
    into = signed_in - started
    if steady_end > signed_in:
        print(
            f"after the last sign-in ({into:.0f} s into the load), while the campaign sends "
            f"({steady_end - signed_in:.0f} s, {steady_send:,.0f} msg/s): {steady}"
        )
    else:
        print(f"the campaign had finished by the last sign-in ({into:.0f} s into the load)")
    idle_start = max(signed_in, steady_end)
    idle_p95, idle = window(requests, idle_start, ended)
    if ended > idle_start:
        print(f"once the campaign has ended ({ended - idle_start:.0f} s): {idle}")
    print(
        f"RESULT req_s={float(total['Requests/s']):.1f} median_ms={total['50%']} "
        f"p95_ms={total['95%']} p99_ms={total['99%']} failures={total['Failure Count']} "
        f"http_5xx={errors} send_before={before:.0f} send_during={during:.0f} "
        f"send_ratio={during / before if before else 0:.2f} recipients={args.recipients} "
        f"steady_p95_ms={steady_p95:.0f} steady_send={steady_send:.0f} "
        f"idle_p95_ms={idle_p95:.0f} "
        f"users={args.users} web_nice={args.web_nice} worker_nice={args.worker_nice} "
        f"web_cpu_shares={args.web_cpu_shares} worker_cpu_shares={args.worker_cpu_shares}"
    )


if __name__ == "__main__":
    main()
