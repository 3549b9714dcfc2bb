"""Bounce-mailbox speed: 10,000 mixed messages from the corpus, processed end to end.

Every corpus message (Postfix, Exim, Exchange, Gmail, Yahoo, mail.ru, qmail, ARF reports,
auto-replies, a human reply, a delayed DSN, backscatter, garbage) is made about one of a
campaign's 10,000 sent deliveries: its VERP token, the returned Message-ID and the failed
address are replaced by that delivery's. They are put into a private Dovecot (IMAP over
TLS on loopback), then the worker's bounce-mailbox duty polls it until it is empty: fetch,
parse, match, record events, apply the rules (suppress, mark, pause check), move to
"Processed". Only that part is timed.

The same run measures the reference first: as many messages again, about other deliveries
of the same campaign, in a second mailbox handled one message per transaction
(BOUNCE_MAILBOX_BATCH_WRITES off), then the subject: the first mailbox handled a fetched chunk
per transaction. Both go through the same Dovecot, database and machine load.

    make bench-bounces                                  # SQLite under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom_bench_bounces make bench-bounces
    .venv/bin/python bench/bench_bounces.py --messages 2000

Loading the messages into Dovecot takes seconds (a few hundred per MULTIAPPEND). The load
average before and after the timed part is printed: on a busy machine the figure is low.

Last line: RESULT msgs_per_s=… reference_msgs_per_s=… parsed=… unparsed=… recorded=…
unmatched=… db=…
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_database import prepare_database  # noqa: E402 -- beside this script

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")
CORPUS = ROOT / "tracking" / "tests" / "corpus"


def corpus() -> list[tuple[bytes, dict[str, object]]]:
    expected = tomllib.loads((CORPUS / "expected.toml").read_text())
    return [((CORPUS / name).read_bytes(), fields) for name, fields in sorted(expected.items())]


def about(raw: bytes, fields: dict[str, object], n: int, delivery: object) -> bytes:
    """The corpus message made about `delivery` (token, Message-ID, address), with a
    Message-ID of its own so that every message counts."""
    from campaigns.verp import token_for

    token, message_id = fields.get("verp_token"), fields.get("message_id")
    if token:
        raw = raw.replace(str(token).encode(), token_for(delivery.pk).encode())  # type: ignore[attr-defined]
    if message_id and "shop.example" in str(message_id):
        raw = raw.replace(str(message_id).encode(), delivery.message_id.encode())  # type: ignore[attr-defined]
    for address in fields.get("addresses") or []:  # type: ignore[attr-defined]
        raw = raw.replace(str(address).encode(), delivery.email.encode())  # type: ignore[attr-defined]
    return f"Message-ID: <bench.{n}@bench.example>\r\n".encode() + raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--reference", type=int, default=1000, help="messages handled one by one first (0: none)"
    )
    options = parser.parse_args()
    db = prepare_database("bench_bounces", drop_postgres=True, drop_sqlite=True)

    from core.testing.imap import DovecotServer

    server = DovecotServer()
    server.start()
    os.environ["SENDING_EXTRA_CA_FILE"] = str(server.cert_path)
    os.environ["SENDING_ALLOW_PRIVATE_HOSTS"] = "1"
    os.environ["BOUNCE_MAILBOX_INTERVAL"] = "0"
    try:
        run(options.messages, options.reference, server, db)
    finally:
        server.cleanup()


def run(count: int, reference: int, server: object, db: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", "--noinput", verbosity=0)
    from accounts.models import Workspace
    from audience.models import Recipient
    from campaigns import links
    from campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
    from postroom.duties import run_bounce_mailbox_step
    from tracking.models import BounceMailbox, Event, MailboxMessage

    workspace = Workspace.objects.create(name="Bench bounces")
    campaign = Campaign.objects.create(
        workspace=workspace, name="Bench", status=CampaignStatus.RUNNING
    )
    people = Recipient.objects.bulk_create(
        [
            Recipient(workspace=workspace, email=f"person{i}@bench.example")
            for i in range(count + reference)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                workspace=workspace,
                campaign=campaign,
                recipient=p,
                email=p.email,
                status=DeliveryStatus.SENT,
                sent_at=now,
            )
            for p in people
        ],
        batch_size=2000,
    )
    for d in deliveries:
        d.message_id = links.message_id_for(d.pk, campaign.pk, "shop.example")
    Delivery.objects.bulk_update(deliveries, ["message_id"], batch_size=2000)

    samples = corpus()
    messages = [about(*samples[i % len(samples)], i, deliveries[i]) for i in range(count)]
    started = time.perf_counter()
    for start in range(0, count, 1000):
        server.deliver_many(messages[start : start + 1000])  # type: ignore[attr-defined]
    # the reference's messages: the same corpus, about the deliveries after the first `count`
    server.add_user("reference", "reference-password")  # type: ignore[attr-defined]
    others = [
        about(*samples[i % len(samples)], count + i, deliveries[count + i])
        for i in range(reference)
    ]
    for start in range(0, reference, 1000):
        server.deliver_many(others[start : start + 1000], user="reference")  # type: ignore[attr-defined]
    print(f"put {count + reference} messages into Dovecot in {time.perf_counter() - started:.1f} s")

    def mailbox(user: str, password: str, enabled: bool) -> BounceMailbox:
        return BounceMailbox.objects.create(
            workspace=workspace,
            name=user,
            host=server.host,  # type: ignore[attr-defined]
            port=server.imaps_port,  # type: ignore[attr-defined]
            username=user,
            password=password,
            enabled=enabled,
        )

    subject = mailbox(server.user, server.password, False)  # type: ignore[attr-defined]
    reference_rate = 0.0
    if reference:
        mailbox("reference", "reference-password", True)
        settings.BOUNCE_MAILBOX_BATCH_WRITES = False
        started = time.perf_counter()
        while run_bounce_mailbox_step():
            pass
        took = time.perf_counter() - started
        reference_rate = reference / took
        print(f"reference: {reference} messages one per transaction in {took:.2f} s")
        BounceMailbox.objects.update(enabled=False)
        MailboxMessage.objects.all().delete()
        Event.objects.all().delete()
        campaign.status = CampaignStatus.RUNNING
        campaign.save(update_fields=["status"])
    settings.BOUNCE_MAILBOX_BATCH_WRITES = True
    BounceMailbox.objects.filter(pk=subject.pk).update(enabled=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    rounds = 1
    while run_bounce_mailbox_step():
        rounds += 1
    elapsed = time.perf_counter() - started
    # Dovecot, the database and the worker share the machine: its load says what a figure is worth
    print(f"machine load (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")

    rows = MailboxMessage.objects.all()
    unparsed = rows.filter(kind="unparsed").count() + rows.filter(outcome="skipped").count()
    handled = rows.count()
    outcomes = {o: rows.filter(outcome=o).count() for o in ("recorded", "ignored", "unmatched")}
    campaign.refresh_from_db()
    print(f"{handled} messages in {rounds} polls, {elapsed:.2f} s; outcomes {outcomes}")
    print(f"events {Event.objects.count()}; campaign {campaign.status}: {campaign.status_reason}")
    if handled != count:
        raise SystemExit(f"only {handled} of {count} messages were handled")
    if reference:
        print(
            f"batched {count / elapsed:.0f} msgs/s against {reference_rate:.0f} msgs/s one by "
            f"one in the same run (x{count / elapsed / reference_rate:.1f})"
        )
    print(
        f"RESULT msgs_per_s={count / elapsed:.0f} reference_msgs_per_s={reference_rate:.0f} "
        f"parsed={handled - unparsed} "
        f"unparsed={unparsed} recorded={outcomes['recorded']} "
        f"unmatched={outcomes['unmatched']} db={db}"
    )


if __name__ == "__main__":
    main()
