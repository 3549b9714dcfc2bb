"""A fetched chunk of a bounce mailbox, handed to the intake as the poller hands it: the
queries it takes do not grow with its messages, and what it does stays within the mailbox's
workspace. (The way through Dovecot is in test_mailbox_intake.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import WorkspaceFactory
from audience.models import Recipient, RecipientStatus, Suppression, SuppressionReason
from campaigns import links
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.tests.factories import CampaignFactory
from campaigns.verp import token_for
from tracking.feedback.mailbox import Incoming
from tracking.feedback.parse import parse
from tracking.intake import MailboxIntake, sent_to
from tracking.models import BounceMailbox, Event, EventKind, MailboxMessage, MailboxOutcome
from tracking.tests import feedback_mail

pytestmark = pytest.mark.django_db

DOMAIN = "bounce.shop.example"
KINDS = ("unsubscribe", "address_only", "complaint", "token_bounce", "reply")


def _campaign(workspace, name="Spring"):
    return CampaignFactory.create(
        workspace=workspace, name=name, status=CampaignStatus.RUNNING, bare=True
    )


def _sent(campaign, emails, *, ago=timedelta(0)):
    """Deliveries of `campaign` sent `ago`, with their recipients (made where missing)."""
    people = [
        Recipient.objects.get_or_create(workspace=campaign.workspace, email=email)[0]
        for email in emails
    ]
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                workspace=campaign.workspace,
                campaign=campaign,
                recipient=person,
                email=person.email,
                status=DeliveryStatus.SENT,
                sent_at=timezone.now() - ago,
            )
            for person in people
        ]
    )
    for delivery in deliveries:
        delivery.message_id = links.message_id_for(delivery.pk, campaign.pk, "shop.example")
    Delivery.objects.bulk_update(deliveries, ["message_id"])
    return deliveries


def _mailbox(workspace):
    return BounceMailbox.objects.create(workspace=workspace, name="Bounces", host="imap.test")


def _message(kind, delivery, *, recipient=None):
    """What comes back about `delivery`: `kind` is one of KINDS."""
    token_path = f"bounces+{token_for(delivery.pk)}@{DOMAIN}"
    email = recipient or delivery.email
    if kind == "unsubscribe":
        return feedback_mail.unsubscribe_request(sender=email, mailto=token_path)
    if kind == "address_only":  # no token, no Message-ID of ours: matched by the address
        return feedback_mail.dsn(
            return_path="bounces@shop.example", recipient=email, message_id=None
        )
    if kind == "complaint":
        return feedback_mail.arf(recipient=email, message_id=delivery.message_id)
    if kind == "token_bounce":
        return feedback_mail.dsn(
            return_path=token_path, recipient=email, message_id=delivery.message_id
        )
    return feedback_mail.reply(
        sender=email, to="news@shop.example", message_id=delivery.message_id, text="Yes."
    )


def _chunk(raws):
    return [
        Incoming(f"imap:1:{n}", len(raw), raw, parse(raw)) for n, raw in enumerate(raws, start=1)
    ]


def _chunk_of_each_kind(per_kind):
    """A new workspace that sent `per_kind` messages for each kind, its mailbox, and the chunk
    of what came back: `per_kind` messages of each kind, each about its own delivery."""
    workspace = WorkspaceFactory.create()
    emails = [f"{kind}{n}@example.test" for kind in KINDS for n in range(per_kind)]
    deliveries = dict(zip(emails, _sent(_campaign(workspace), emails), strict=True))
    raws = [
        _message(kind, deliveries[f"{kind}{n}@example.test"])
        for n in range(per_kind)
        for kind in KINDS
    ]
    return workspace, _mailbox(workspace), _chunk(raws)


def _queries_of_a_chunk(per_kind):
    workspace, mailbox, chunk = _chunk_of_each_kind(per_kind)
    with CaptureQueriesContext(connection) as queries:
        MailboxIntake(mailbox).batch(chunk)
    return workspace, len(queries)


def test_a_chunk_takes_as_many_queries_with_eight_messages_of_each_kind_as_with_one(
    django_assert_max_num_queries,
):
    _one, with_one = _queries_of_a_chunk(1)
    workspace, mailbox, chunk = _chunk_of_each_kind(8)

    with django_assert_max_num_queries(with_one):
        MailboxIntake(mailbox).batch(chunk)

    rows = MailboxMessage.objects.filter(mailbox=mailbox)
    assert set(rows.values_list("outcome", flat=True)) == {MailboxOutcome.RECORDED}
    assert rows.count() == 8 * len(KINDS)
    reasons = dict(Suppression.objects.filter(workspace=workspace).values_list("email", "reason"))
    expected = {
        "unsubscribe": SuppressionReason.UNSUBSCRIBED,
        "address_only": SuppressionReason.BOUNCED,
        "complaint": SuppressionReason.COMPLAINED,
        "token_bounce": SuppressionReason.BOUNCED,
    }
    assert reasons == {
        f"{kind}{n}@example.test": reason for kind, reason in expected.items() for n in range(8)
    }
    people = dict(Recipient.objects.filter(workspace=workspace).values_list("email", "status"))
    assert people["unsubscribe7@example.test"] == RecipientStatus.UNSUBSCRIBED
    assert people["address_only7@example.test"] == RecipientStatus.BOUNCED
    assert people["complaint7@example.test"] == RecipientStatus.COMPLAINED
    assert people["reply7@example.test"] == RecipientStatus.ACTIVE
    source = Suppression.objects.get(workspace=workspace, email="unsubscribe0@example.test").source
    assert source == "unsubscribe request by mailbox of “Spring”"


def test_address_only_reports_match_the_workspaces_latest_delivery_and_no_other_workspaces():
    ours, theirs = WorkspaceFactory.create(), WorkspaceFactory.create()
    older, newer = (
        _sent(_campaign(ours, "Old"), ["ann@example.test"], ago=timedelta(days=2))[0],
        _sent(_campaign(ours, "New"), ["ann@example.test"], ago=timedelta(days=1))[0],
    )
    # Another workspace sent to the same people more recently, and suppressed one of them.
    other_ann, other_bob = _sent(_campaign(theirs), ["ann@example.test", "bob@example.test"])
    Suppression.objects.create(
        workspace=theirs, email="bob@example.test", reason=SuppressionReason.UNSUBSCRIBED
    )
    (bob,) = _sent(_campaign(ours, "Bob's"), ["bob@example.test"])
    mailbox = _mailbox(ours)

    MailboxIntake(mailbox).batch(
        _chunk(
            [
                _message("address_only", newer, recipient="ANN@Example.TEST"),  # case differs
                _message("address_only", bob),
                feedback_mail.arf(recipient="bob@example.test", message_id=""),  # no Message-ID
                _message("address_only", newer, recipient="nobody@example.test"),
            ]
        )
    )

    # In the chunk's order: a row's key is the message's own (random) Message-ID.
    outcomes = list(MailboxMessage.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [MailboxOutcome.RECORDED] * 3 + [MailboxOutcome.UNMATCHED]
    events = Event.objects.order_by("pk")
    assert [(e.workspace_id, e.delivery_id, e.kind) for e in events] == [
        (ours.pk, newer.pk, EventKind.BOUNCED),
        (ours.pk, bob.pk, EventKind.BOUNCED),
        (ours.pk, bob.pk, EventKind.COMPLAINED),
    ]
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses[older.pk] == DeliveryStatus.SENT
    assert statuses[newer.pk] == DeliveryStatus.BOUNCED
    assert statuses[bob.pk] == DeliveryStatus.COMPLAINED
    assert statuses[other_ann.pk] == statuses[other_bob.pk] == DeliveryStatus.SENT
    theirs_now = Suppression.objects.filter(workspace=theirs).values_list("email", "reason")
    assert list(theirs_now) == [("bob@example.test", SuppressionReason.UNSUBSCRIBED)]
    assert not Recipient.objects.filter(workspace=theirs).exclude(status=RecipientStatus.ACTIVE)


def test_a_chunk_reads_of_its_deliveries_only_what_its_events_take():
    """Matching reads hundreds of deliveries per chunk: not their campaigns, not their texts."""
    workspace, mailbox, chunk = _chunk_of_each_kind(2)
    chunk = [m for m in chunk if m.feedback.kind != "unsubscribe"]  # that rule reads campaigns

    with CaptureQueriesContext(connection) as queries:
        MailboxIntake(mailbox).batch(chunk)

    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "campaigns_delivery"."id"')]
    assert len(reads) == 2, reads  # by token or Message-ID, and by address
    for sql in reads:
        assert "campaigns_campaign" not in sql
        assert '"campaigns_delivery"."last_reply"' not in sql
    assert Event.objects.filter(workspace=workspace).count() == len(chunk)


def test_address_matching_reads_through_the_workspace_address_index():
    """A report that names no message of ours is matched by its address: through an index,
    not by reading every delivery of the workspace (millions, for a large sender)."""
    workspace = WorkspaceFactory.create()
    _sent(_campaign(workspace), [f"person{n}@example.test" for n in range(50)])
    found = sent_to(workspace.pk, {"person7@example.test", "person9@example.test"})

    assert sorted(d.email for d in found) == ["person7@example.test", "person9@example.test"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a few rows: the planner would rather scan
            cursor.execute("SET LOCAL enable_seqscan = off")
            # Statistics of these rows, not of what earlier tests left (a table analyzed while
            # empty makes every index look alike, and the planner then took another).
            cursor.execute("ANALYZE campaigns_delivery")
        plan = found.explain()
    assert "delivery_workspace_address" in plan, plan


def test_a_complaint_outweighs_an_earlier_entry_and_a_first_complaint_keeps_its_source():
    workspace = WorkspaceFactory.create()
    unsubscribed, complained = _sent(_campaign(workspace), ["ann@example.test", "bob@example.test"])
    Suppression.objects.create(
        workspace=workspace, email=unsubscribed.email, reason=SuppressionReason.UNSUBSCRIBED
    )
    Suppression.objects.create(
        workspace=workspace,
        email=complained.email,
        reason=SuppressionReason.COMPLAINED,
        source="the first complaint",
    )

    MailboxIntake(_mailbox(workspace)).batch(
        _chunk([_message("complaint", unsubscribed), _message("complaint", complained)])
    )

    ann, bob = Suppression.objects.filter(workspace=workspace).order_by("email")
    assert ann.reason == SuppressionReason.COMPLAINED
    assert ann.source.startswith("complaint (abuse) to campaign “Spring” via mailbox")
    assert (bob.reason, bob.source) == (SuppressionReason.COMPLAINED, "the first complaint")


def test_an_unsubscribe_and_a_bounce_of_one_address_in_a_chunk_keep_the_bounce():
    """As `rules.apply_batch` says: the bounce is what the suppression list shows, and the
    recipient is bounced, whichever of the two came first in the chunk."""
    workspace = WorkspaceFactory.create()
    (ann,) = _sent(_campaign(workspace), ["ann@example.test"])

    MailboxIntake(_mailbox(workspace)).batch(
        _chunk([_message("unsubscribe", ann), _message("token_bounce", ann)])
    )

    entry = Suppression.objects.get(workspace=workspace)
    assert entry.reason == SuppressionReason.BOUNCED
    assert Recipient.objects.get(workspace=workspace).status == RecipientStatus.BOUNCED
    kinds = set(Event.objects.values_list("kind", flat=True))
    assert kinds == {EventKind.UNSUBSCRIBED, EventKind.BOUNCED}
