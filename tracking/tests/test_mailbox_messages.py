"""The messages a bounce mailbox gave, as its owners see them (what came, how it was read)
and purge them (asked first; what they recorded stays), in the UI and /api/."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audience.models import Suppression
from core.testing.plans import page_rows_read
from tracking.feedback.mailbox import Incoming
from tracking.feedback.parse import parse
from tracking.intake import MailboxIntake
from tracking.mailboxes import mailbox_messages
from tracking.models import BounceMailbox, Event, MailboxMessage, MailboxOutcome
from tracking.tests.feedback_mail import dsn
from tracking.tests.reporting import sent_world

pytestmark = pytest.mark.django_db
API = "/api/bounce-mailboxes/"
PLANTED = '<img src=x onerror="alert(1)"> Hello'


def _mailbox(workspace, name="Bounces"):
    return BounceMailbox.objects.create(
        workspace=workspace, name=name, host="imap.example.test", username="u", password="p"
    )


def _read(mailbox, raws):
    """Messages handed to the mailbox's intake as the poller hands them over."""
    intake = MailboxIntake(mailbox)
    for i, raw in enumerate(raws):
        intake(Incoming(key=f"imap:1:{i}", size=len(raw), raw=raw, feedback=parse(raw)))
    intake.finish()


def _gibberish(subject):
    return (
        f"From: someone@elsewhere.example\nSubject: {subject}\nMessage-ID: <g.{len(subject)}@x>"
        "\n\nnothing a program can read\n"
    ).encode()


@pytest.fixture
def read_mailbox(personas):
    """A mailbox that gave a bounce of one of our messages (matched by its address) and a
    message it could not read."""
    world = sent_world(personas.workspace, ["gone@example.test"])
    mailbox = _mailbox(personas.workspace)
    bounce = dsn(return_path="news1@acme.test", recipient="gone@example.test", message_id=None)
    _read(mailbox, [bounce, _gibberish(PLANTED)])
    assert MailboxMessage.objects.filter(mailbox=mailbox).count() == 2
    return mailbox, world


def test_the_page_shows_what_came_and_how_it_was_read(personas, viewer_client, read_mailbox):
    mailbox, _world = read_mailbox
    kwargs = {"mailbox_id": mailbox.pk}
    detail = viewer_client.get(reverse("tracking:mailbox_detail", kwargs=kwargs))
    url = reverse("tracking:mailbox_messages", kwargs=kwargs)
    assert f'href="{url}"' in detail.content.decode()
    page = viewer_client.get(url).content.decode()
    assert 'data-outcome="recorded"' in page
    assert "Undelivered Mail Returned to Sender" in page
    assert "hard_bounce" in page
    assert 'data-outcome="unparsed"' in page or 'data-outcome="ignored"' in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Hello" in page
    assert "<img src=x" not in page
    assert 'data-action="purge"' not in page  # viewers read only
    recorded = viewer_client.get(url + "?outcome=recorded").content.decode()
    assert recorded.count("<tr data-message=") == 1


def test_purge_asks_first_then_keeps_what_was_recorded(personas, owner_client, read_mailbox):
    mailbox, _world = read_mailbox
    other = _mailbox(personas.workspace, name="Replies")
    _read(other, [_gibberish("kept elsewhere")])
    url = reverse("tracking:mailbox_messages_purge", kwargs={"mailbox_id": mailbox.pk})
    asked = owner_client.post(url)
    assert asked.status_code == 200
    text = asked.content.decode()
    assert "The list of the 2 messages read from this mailbox" in text
    assert "suppressions they caused" in text
    assert MailboxMessage.objects.filter(mailbox=mailbox).count() == 2

    owner_client.post(url, {"confirmed": "yes"})
    assert not MailboxMessage.objects.filter(mailbox=mailbox).exists()
    assert MailboxMessage.objects.filter(mailbox=other).count() == 1
    assert Event.objects.filter(kind="bounced", email="gone@example.test").count() == 1
    assert Suppression.objects.filter(email="gone@example.test").exists()


def test_editors_cannot_purge(personas, editor_client, read_mailbox):
    mailbox, _world = read_mailbox
    url = reverse("tracking:mailbox_messages_purge", kwargs={"mailbox_id": mailbox.pk})
    assert editor_client.post(url, {"confirmed": "yes"}).status_code == 403
    assert MailboxMessage.objects.filter(mailbox=mailbox).count() == 2


def test_the_api_lists_and_purges(personas, api_for, read_mailbox):
    mailbox, _world = read_mailbox
    viewer, owner = api_for("viewer"), api_for("owner")
    listed = viewer.get(f"{API}{mailbox.pk}/messages/").json()
    assert len(listed["results"]) == 2
    assert listed["next"] is None
    assert {r["outcome"] for r in listed["results"]} >= {"recorded"}
    recorded = viewer.get(f"{API}{mailbox.pk}/messages/?outcome=recorded").json()
    assert [r["kind"] for r in recorded["results"]] == ["hard_bounce"]
    assert viewer.post(f"{API}{mailbox.pk}/messages/purge/").status_code == 403
    assert owner.post(f"{API}{mailbox.pk}/messages/purge/").json() == {"deleted": 2}
    assert viewer.get(f"{API}{mailbox.pk}/messages/").json()["results"] == []
    assert Event.objects.filter(kind="bounced").count() == 1


def test_another_workspaces_mailbox_is_a_404(personas, owner_client, api_for):
    theirs = _mailbox(personas.other_workspace)
    _read(theirs, [_gibberish("theirs")])
    kwargs = {"mailbox_id": theirs.pk}
    assert owner_client.get(reverse("tracking:mailbox_messages", kwargs=kwargs)).status_code == 404
    purge = reverse("tracking:mailbox_messages_purge", kwargs=kwargs)
    assert owner_client.post(purge, {"confirmed": "yes"}).status_code == 404
    owner = api_for("owner")
    assert owner.get(f"{API}{theirs.pk}/messages/").status_code == 404
    assert owner.post(f"{API}{theirs.pk}/messages/purge/").status_code == 404
    assert MailboxMessage.objects.filter(mailbox=theirs).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are PostgreSQL's")
def test_a_page_of_a_mailboxs_messages_reads_one_page_of_rows(personas, api_for):
    mailbox = _mailbox(personas.workspace)
    when = timezone.now()
    outcomes = list(MailboxOutcome)
    MailboxMessage.objects.bulk_create(
        MailboxMessage(
            workspace=personas.workspace,
            mailbox=mailbox,
            key=f"imap:1:{i}",
            outcome=outcomes[i % len(outcomes)],
            received_at=when,
        )
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tracking_mailboxmessage")
    assert page_rows_read(mailbox_messages(mailbox)[:50], "tracking_mailboxmessage") <= 50
    rows = api_for("viewer").get(f"{API}{mailbox.pk}/messages/").json()["results"]
    assert rows[0]["id"] == MailboxMessage.objects.get(key="imap:1:299").pk
