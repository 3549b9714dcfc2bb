"""Several worker machines on one PostgreSQL and one broker: the engine's promises hold.

Three worker hosts (network namespaces with their own links and hostnames, core/testing/hosts.py,
as `scripts/multi-host` makes them) each run the production Celery worker; beat runs on this
machine. Mid-campaign one host loses power (SIGKILL to all it runs) and another loses its
network for 30 s. Every recipient must get the message, once, except what the two hosts had in
flight, which goes again with the same Message-ID; the figures must add up.
"""

import os
import subprocess
import time
from collections import Counter, defaultdict

import pytest
from django.conf import settings

from campaigns.engine.record import UNRECORDED_AT_MOST
from campaigns.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    WorkerHeartbeat,
)
from campaigns.services import campaign_start
from campaigns.tests import processes
from campaigns.tests.conftest import make_campaign
from core.testing import hosts as worker_hosts

pytestmark = pytest.mark.django_db(transaction=True)

# 10,000 by default: about 3 minutes on this loaded 2-core machine, two of them waiting for the
# dead host's lease; 20,000 (POSTROOM_MULTI_HOST_RECIPIENTS) took 4 to 5.
TOTAL = int(os.environ.get("POSTROOM_MULTI_HOST_RECIPIENTS", "10000"))
CONCURRENCY = 2  # as production runs the worker (README)
CUT_SECONDS = 30
# The production lease: a 30 s cut (and the TCP back-off after it) ends well within it, so the
# cut host keeps its batches; the dead host's come back when theirs expire.
LEASE_SECONDS = 120


def require_worker_hosts() -> None:
    processes.require_postgresql()
    reason = worker_hosts.unavailable()
    if reason:
        if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def took_part(host: worker_hosts.Host) -> bool:
    """Whether a worker on `host` has run an engine pass (heartbeats name the hostname)."""
    return WorkerHeartbeat.objects.filter(name__startswith=f"{host.hostname}:").exists()


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.status == CampaignStatus.COMPLETED and campaign.final_counts is not None


def progress(sink) -> str:
    states = Counter(Delivery.objects.values_list("status", flat=True))
    return f"{dict(states)}; {len(sink.messages)} messages received"


@pytest.mark.timeout(1500)
def test_three_worker_hosts_survive_a_dead_host_and_a_cut_link_without_losing_or_repeating(
    personas, smtp_sink, tmp_path
):
    require_worker_hosts()
    broker = processes.redis_url(db=9)
    setup = make_campaign(personas.workspace, smtp_sink, n=TOTAL)
    # Room reserved by the dead host is not given back (the count errs on the safe side).
    setup.account.daily_limit = 10 * TOTAL
    # Each host reaches the SMTP server through its own link, as it reaches the database.
    setup.account.smtp_host = worker_hosts.SERVICES_NAME
    setup.account.save(update_fields=["daily_limit", "smtp_host"])
    env = processes.worker_env(
        smtp_sink, CELERY_BROKER_URL=broker, DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS)
    )
    database, db_port = worker_hosts.through_relay(env["DATABASE_URL"])
    relayed, broker_port = worker_hosts.through_relay(broker)
    host_env = {**env, "DATABASE_URL": database, "CELERY_BROKER_URL": relayed}
    started = time.monotonic()

    with worker_hosts.WorkerHosts(
        3, [db_port, broker_port, smtp_sink.port], log_dir=tmp_path
    ) as machines:
        dead, cut, steady = machines.hosts
        for host in machines.hosts:
            host.run(
                worker_hosts.celery_worker(host, CONCURRENCY),
                env=host_env, cwd=processes.ROOT, log=tmp_path / f"{host.hostname}.log",
            )  # fmt: skip
        beat = processes.start(
            ["-m", "celery", "-A", "postroom", "beat", "-s", str(tmp_path / "beat-schedule")],
            env, tmp_path / "beat.log",
        )  # fmt: skip
        campaign_start(campaign=setup.campaign)
        try:
            # Every host at work, and a quarter sent: then the first host dies.
            processes.wait_until(
                lambda: (
                    all(took_part(h) for h in machines.hosts)
                    and len(smtp_sink.messages) >= TOTAL // 4
                ),
                600,
                "all three hosts at work and a quarter sent",
            )
            dead.kill()
            at_kill = len(smtp_sink.messages)
            processes.wait_until(
                lambda: len(smtp_sink.messages) >= at_kill + TOTAL // 10,
                600,
                "sending to go on without the dead host",
            )
            assert cut.reaches(db_port)
            cut.cut()
            at_cut = len(smtp_sink.messages)
            cut_at = time.monotonic()
            assert not cut.reaches(db_port), "the cut host still reaches the database"
            assert not cut.reaches(smtp_sink.port), "the cut host still reaches the SMTP server"
            time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))  # the outage itself
            during_cut = len(smtp_sink.messages) - at_cut
            cut.restore()
            processes.wait_until(lambda: cut.reaches(db_port), 60, "the link to come back")
            processes.wait_until(lambda: finished(setup.campaign), 900, "the campaign to complete")
        except AssertionError as error:
            logs = "".join(
                f"\n--- {h.hostname}\n" + (tmp_path / f"{h.hostname}.log").read_text()[-1500:]
                for h in machines.hosts
            )
            raise AssertionError(f"{error}; {progress(smtp_sink)}{logs}") from None
        finally:
            processes.stop(beat)
        assert all(p.poll() is None for p in steady.processes + cut.processes), (
            "a worker of a living host exited"
        )
    elapsed = time.monotonic() - started

    received = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    duplicates = {rcpt: n for rcpt, n in received.items() if n > 1}
    extra = sum(n - 1 for n in duplicates.values())
    # What a host had sent but not recorded (UNRECORDED_AT_MOST per batch being sent), plus one
    # message on each SMTP connection, in each worker process, for the two hosts that failed.
    bound = 2 * CONCURRENCY * (UNRECORDED_AT_MOST + settings.SENDING_CONNECTIONS_PER_ACCOUNT)
    print(
        f"\n{TOTAL} recipients in {elapsed:.0f} s; dead host at {at_kill} sent, link cut at "
        f"{at_cut} ({during_cut} sent during the cut); duplicates {extra} (bound {bound})"
    )
    assert set(received) == {f"person{i}@example.test" for i in range(TOTAL)}
    assert extra <= bound
    assert during_cut > 0, "nothing was sent while one host was dead and another cut off"

    # Every message a recipient got carries the Message-ID its delivery recorded.
    ids: dict[str, set[str | None]] = defaultdict(set)
    for message in smtp_sink.messages:
        ids[message.rcpt_tos[0]].add(message.message_id)
    recorded = dict(Delivery.objects.values_list("email", "message_id"))
    assert all(found == {recorded[rcpt]} for rcpt, found in ids.items())

    # The figures add up: one sent delivery per recipient, each with one successful attempt;
    # the other attempts are the cut link's (temporary, ambiguous: spent; connection: not);
    # the deliveries count every spent attempt; the frozen counts say the same.
    outcomes = Counter(Attempt.objects.values_list("outcome", flat=True))
    print(f"attempts: {dict(outcomes)}")
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == TOTAL
    assert outcomes[AttemptOutcome.SENT] == TOTAL
    assert set(outcomes) <= {
        AttemptOutcome.SENT, AttemptOutcome.TEMPORARY, AttemptOutcome.AMBIGUOUS,
        AttemptOutcome.CONNECTION,
    }  # fmt: skip
    spent = sum(n for outcome, n in outcomes.items() if outcome != AttemptOutcome.CONNECTION)
    assert sum(Delivery.objects.values_list("attempts", flat=True)) == spent
    setup.campaign.refresh_from_db()
    assert setup.campaign.final_counts == {DeliveryStatus.SENT: TOTAL}
    # Each host's workers were named after it: three machines, not one.
    names = set(WorkerHeartbeat.objects.values_list("name", flat=True))
    for host in (dead, cut, steady):
        assert any(name.startswith(f"{host.hostname}:") for name in names), names


def test_worker_hosts_are_removed_even_when_their_creation_fails_part_way(tmp_path):
    """What a half-made host leaves (a namespace, a link, /etc/netns) is removed."""
    reason = worker_hosts.unavailable()
    if reason:
        if os.environ.get("POSTROOM_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    tag = f"pt{os.getpid() % 100000}"
    # The second host's namespace exists already: its creation fails after the first host.
    subprocess.run(["ip", "netns", "add", f"{tag}-host2"], check=True)
    try:
        with pytest.raises(subprocess.CalledProcessError):
            worker_hosts.WorkerHosts(2, [5432], log_dir=tmp_path, prefix=tag)
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True)
    finally:
        subprocess.run(["ip", "netns", "delete", f"{tag}-host2"], check=False)
    assert f"{tag}-host1" not in namespaces.stdout
    assert f"{tag}h1" not in links.stdout
    assert not (worker_hosts.NETNS_ETC / f"{tag}-host1").exists()
