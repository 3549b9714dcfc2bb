"""The bounce/complaint/reply loop end to end: a campaign sent to the SMTP sink with VERP
return paths, what came back put into a real Dovecot, the worker's duty polling it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from accounts.tests.factories import WorkspaceFactory
from audience.models import Recipient, RecipientStatus, Suppression, SuppressionReason
from campaigns.engine.step import Engine
from campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from campaigns.services import campaign_start
from campaigns.tests.conftest import make_campaign
from campaigns.verp import token_for
from postroom.duties import run_bounce_mailbox_step
from tracking.models import (
    BounceMailbox,
    Event,
    EventKind,
    MailboxDisposal,
    MailboxMessage,
    MailboxOutcome,
    MailboxProtocol,
)
from tracking.tests import feedback_mail

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "corpus"
DOMAIN = "bounce.shop.example"


@pytest.fixture(autouse=True)
def _feedback_settings(settings, dovecot):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # Dovecot and the sink are on 127.0.0.1
    settings.SENDING_EXTRA_CA_FILE = str(dovecot.cert_path)  # Dovecot's test certificate
    settings.BOUNCE_MAILBOX_INTERVAL = 0
    settings.SITE_URL = "https://mail.example.test"
    settings.SENDING_TIMEOUT = 5
    settings.CAMPAIGN_PAUSE_COMPLAINT_MIN_DELIVERIES = 1000


def _mailbox(workspace, dovecot, *, user=None, password=None, name="Bounces"):
    return BounceMailbox.objects.create(
        workspace=workspace,
        name=name,
        host=dovecot.host,
        port=dovecot.imaps_port,
        username=user or dovecot.user,
        password=password or dovecot.password,
    )


def _send(workspace, smtp_sink, emails, *, sent=None):
    """Start a campaign and send `sent` of its messages (all by default)."""
    setup = make_campaign(workspace, smtp_sink, emails=emails, return_path_domain=DOMAIN)
    campaign_start(campaign=setup.campaign)
    engine = Engine(batch_size=sent or len(emails))
    for _ in range(20):
        if Delivery.objects.filter(status=DeliveryStatus.SENT).count() >= (sent or len(emails)):
            break
        engine.step()
    messages = smtp_sink.wait_for(sent or len(emails))
    return setup, {m.rcpt_tos[0]: m for m in messages}


def test_bounce_complaint_reply_and_unsubscribe_come_back_and_are_acted_on(
    personas, smtp_sink, dovecot, settings
):
    settings.CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES = 4
    emails = [f"person{i}@example.test" for i in range(6)]
    mailbox = _mailbox(personas.workspace, dovecot)
    setup, sent = _send(personas.workspace, smtp_sink, emails, sent=4)
    bounced, complained, replied, leaving = (sent[e] for e in emails[:4])

    # every message carries its own return path, and a mailto: naming it (RFC 2369)
    token = token_for(Delivery.objects.get(email=emails[0]).pk)
    assert bounced.mail_from == f"bounces+{token}@{DOMAIN}"
    unsubscribe = bounced.header("List-Unsubscribe") or ""
    assert f"<mailto:bounces+{token}@{DOMAIN}?subject=unsubscribe>" in unsubscribe
    assert unsubscribe.startswith("<https://")

    mailto = re.search(r"mailto:([^?>]+)", leaving.header("List-Unsubscribe") or "")
    assert mailto is not None
    dovecot.deliver_many(
        [
            feedback_mail.dsn(
                return_path=bounced.mail_from,
                recipient=emails[0],
                message_id=bounced.message_id,
            ),
            feedback_mail.arf(recipient=emails[1], message_id=complained.message_id or ""),
            feedback_mail.reply(
                sender=emails[2],
                to="news@example.com",
                message_id=replied.message_id or "",
                text="Thanks, I will come.",
            ),
            feedback_mail.unsubscribe_request(sender=emails[3], mailto=mailto.group(1)),
        ]
    )

    assert run_bounce_mailbox_step() is False

    ws = personas.workspace
    reasons = dict(Suppression.objects.filter(workspace=ws).values_list("email", "reason"))
    assert reasons == {
        emails[0]: SuppressionReason.BOUNCED,
        emails[1]: SuppressionReason.COMPLAINED,
        emails[3]: SuppressionReason.UNSUBSCRIBED,
    }
    statuses = dict(Delivery.objects.values_list("email", "status"))
    assert statuses[emails[0]] == DeliveryStatus.BOUNCED
    assert statuses[emails[1]] == DeliveryStatus.COMPLAINED
    assert statuses[emails[2]] == DeliveryStatus.SENT
    people = dict(Recipient.objects.values_list("email", "status"))
    assert people[emails[0]] == RecipientStatus.BOUNCED
    assert people[emails[1]] == RecipientStatus.COMPLAINED
    assert people[emails[3]] == RecipientStatus.UNSUBSCRIBED

    found = {e.email: e for e in Event.objects.filter(workspace=ws)}
    assert (found[emails[0]].kind, found[emails[0]].bounce_type) == (EventKind.BOUNCED, "hard")
    assert found[emails[0]].status_code == "5.1.1"
    assert "User unknown" in found[emails[0]].detail
    assert (found[emails[1]].kind, found[emails[1]].detail) == (EventKind.COMPLAINED, "abuse")
    assert (found[emails[2]].kind, found[emails[2]].detail) == (
        EventKind.REPLIED,
        "Thanks, I will come.",  # the quoted message left out
    )
    assert found[emails[3]].kind == EventKind.UNSUBSCRIBED
    # Who wrote: kept for a person's own message, not for a machine's report.
    senders = {email: event.sender for email, event in found.items()}
    assert senders == {emails[0]: "", emails[1]: "", emails[2]: emails[2], emails[3]: emails[3]}
    assert {e.campaign_id for e in found.values()} == {setup.campaign.pk}

    # 1 bounce of 4 delivered is past 5 % (the minimum lowered to 4): the campaign paused
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == CampaignStatus.PAUSED
    assert "1 bounces in 4" in setup.campaign.status_reason

    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Processed")) == 4
    assert MailboxMessage.objects.filter(outcome=MailboxOutcome.RECORDED).count() == 4
    mailbox.refresh_from_db()
    assert (mailbox.last_error, mailbox.last_polled_at is not None) == ("", True)


def test_a_reply_from_another_address_is_tied_to_its_message_and_keeps_its_writer(
    personas, smtp_sink, dovecot
):
    _mailbox(personas.workspace, dovecot)
    _, sent = _send(personas.workspace, smtp_sink, ["ann@example.test"])
    dovecot.deliver_many(
        [
            feedback_mail.reply(
                sender="assistant@example.org",
                to="news@example.com",
                message_id=sent["ann@example.test"].message_id or "",
                text="Ann asked me to say yes.",
            )
        ]
    )
    assert run_bounce_mailbox_step() is False
    [event] = Event.objects.filter(workspace=personas.workspace)
    assert (event.kind, event.email, event.sender) == (
        EventKind.REPLIED,
        "ann@example.test",
        "assistant@example.org",
    )


def test_a_message_polled_again_counts_once(personas, smtp_sink, dovecot):
    _mailbox(personas.workspace, dovecot)
    _setup, sent = _send(personas.workspace, smtp_sink, ["ann@example.test"])
    message = sent["ann@example.test"]
    raw = feedback_mail.dsn(
        return_path=message.mail_from,
        recipient="ann@example.test",
        message_id=message.message_id,
        status="4.2.2",
        diagnostic="452 4.2.2 Mailbox full",
    )
    dovecot.deliver(raw)
    run_bounce_mailbox_step()
    dovecot.deliver(raw)  # the same message again (a mailbox restored from a backup)
    run_bounce_mailbox_step()

    assert Event.objects.filter(kind=EventKind.BOUNCED, bounce_type="soft").count() == 1
    assert MailboxMessage.objects.count() == 1
    assert not Suppression.objects.exists()  # one soft bounce suppresses nothing


def test_a_wrong_password_is_recorded_and_other_mailboxes_go_on(personas, smtp_sink, dovecot):
    broken = _mailbox(personas.workspace, dovecot, password="wrong", name="Broken")
    dovecot.add_user("second", "second-password")
    good = _mailbox(personas.workspace, dovecot, user="second", password="second-password")
    dovecot.deliver((CORPUS / "human_reply.eml").read_bytes(), user="second")

    run_bounce_mailbox_step()

    broken.refresh_from_db()
    good.refresh_from_db()
    assert "refused the user name or password" in broken.last_error
    assert good.last_error == ""
    assert MailboxMessage.objects.filter(mailbox=good).count() == 1
    assert not MailboxMessage.objects.filter(mailbox=broken).exists()


def test_a_forged_token_changes_nothing(personas, smtp_sink, dovecot):
    _mailbox(personas.workspace, dovecot)
    _send(personas.workspace, smtp_sink, ["ann@example.test"])
    real = token_for(Delivery.objects.get().pk)
    forged = real[:-1] + ("a" if real[-1] != "a" else "b")
    dovecot.deliver(
        feedback_mail.dsn(
            return_path=f"bounces+{forged}@{DOMAIN}", recipient="ann@example.test", message_id=None
        )
    )

    run_bounce_mailbox_step()

    row = MailboxMessage.objects.get()
    assert row.outcome == MailboxOutcome.UNMATCHED
    assert "not valid" in row.note
    assert "Undelivered" in row.excerpt
    assert not Event.objects.exists()
    assert not Suppression.objects.exists()
    assert Delivery.objects.get().status == DeliveryStatus.SENT


def test_another_workspaces_token_changes_nothing(personas, smtp_sink, dovecot):
    _setup, sent = _send(personas.workspace, smtp_sink, ["ann@example.test"])
    message = sent["ann@example.test"]
    _mailbox(WorkspaceFactory.create(), dovecot)  # another workspace's mailbox gets it
    dovecot.deliver(
        feedback_mail.dsn(
            return_path=message.mail_from,
            recipient="ann@example.test",
            message_id=message.message_id,
        )
    )

    run_bounce_mailbox_step()

    assert MailboxMessage.objects.get().outcome == MailboxOutcome.UNMATCHED
    assert not Event.objects.exists()
    assert not Suppression.objects.exists()


def test_a_bounce_of_a_message_we_never_sent_is_kept_unmatched(personas, smtp_sink, dovecot):
    _mailbox(personas.workspace, dovecot)
    _send(personas.workspace, smtp_sink, ["ann@example.test"])
    dovecot.deliver_many(
        [(CORPUS / name).read_bytes() for name in ("dsn_not_ours.eml", "garbage.bin")]
    )

    run_bounce_mailbox_step()

    outcomes = sorted(MailboxMessage.objects.values_list("outcome", flat=True))
    assert outcomes == [MailboxOutcome.UNMATCHED, MailboxOutcome.UNPARSED]
    assert not Event.objects.exists()
    assert not Suppression.objects.exists()


def test_a_bounce_without_token_or_message_id_is_matched_by_its_address(
    personas, smtp_sink, dovecot
):
    _mailbox(personas.workspace, dovecot)
    _send(personas.workspace, smtp_sink, ["ann@example.test"])
    dovecot.deliver(
        feedback_mail.dsn(
            return_path="bounces@shop.example", recipient="ann@example.test", message_id=None
        )
    )

    run_bounce_mailbox_step()

    assert Delivery.objects.get().status == DeliveryStatus.BOUNCED
    assert Suppression.objects.get().reason == SuppressionReason.BOUNCED


def test_a_50_mb_message_is_left_and_kept_as_skipped(personas, dovecot):
    mailbox = _mailbox(personas.workspace, dovecot)
    huge = b"Subject: big\r\nMessage-ID: <big@x.example>\r\n\r\n" + b"x" * 76 + b"\r\n"
    dovecot.deliver(huge + (b"y" * 76 + b"\r\n") * (50 * 1024 * 1024 // 78))

    run_bounce_mailbox_step()

    row = MailboxMessage.objects.get()
    assert row.outcome == MailboxOutcome.SKIPPED
    assert "over the limit" in row.note
    assert row.size > 50_000_000
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert len(dovecot.messages("INBOX")) == 1  # left where it was
    assert not Event.objects.exists()


def test_without_a_return_path_domain_the_envelope_is_the_from_address(
    personas, smtp_sink, dovecot
):
    _mailbox(personas.workspace, dovecot)
    setup = make_campaign(personas.workspace, smtp_sink, emails=["ann@example.test"])
    campaign_start(campaign=setup.campaign)
    Engine().step()
    (message,) = smtp_sink.wait_for(1)
    assert message.mail_from == setup.account.from_email
    assert "mailto:" not in (message.header("List-Unsubscribe") or "")


def test_without_an_enabled_mailbox_there_is_no_mailto(personas, smtp_sink, dovecot):
    _mailbox(personas.workspace, dovecot).delete()
    _setup, sent = _send(personas.workspace, smtp_sink, ["ann@example.test"])
    message = sent["ann@example.test"]
    assert message.mail_from.startswith("bounces+")
    assert "mailto:" not in (message.header("List-Unsubscribe") or "")


def test_both_drivers_poll_the_mailboxes_and_an_error_stops_no_duty(personas, dovecot):
    from django.conf import settings as django_settings

    from campaigns.workers.embedded import EmbeddedWorker
    from postroom.duties import bounce_mailbox_pass
    from postroom.worker import DUTIES

    assert run_bounce_mailbox_step in DUTIES
    schedule = django_settings.CELERY_BEAT_SCHEDULE["bounce-mailboxes"]
    assert schedule["task"] == bounce_mailbox_pass.name
    assert "postroom.duties" in django_settings.CELERY_IMPORTS

    broken = _mailbox(personas.workspace, dovecot, password="wrong")
    ran: list[str] = []

    def after() -> bool:
        ran.append("after")
        return False

    EmbeddedWorker([run_bounce_mailbox_step, after]).run_once()
    assert ran == ["after"]
    broken.refresh_from_db()
    assert broken.last_error
    BounceMailbox.objects.filter(pk=broken.pk).update(last_polled_at=None, last_error="")
    assert bounce_mailbox_pass() == 1  # the Celery task: one round, the error recorded
    broken.refresh_from_db()
    assert broken.last_error


def _bounces(sent, emails):
    return [
        feedback_mail.dsn(return_path=sent[e].mail_from, recipient=e, message_id=sent[e].message_id)
        for e in emails
    ]


def test_a_crash_after_the_commit_and_before_the_move_rereads_harmlessly(
    personas, smtp_sink, dovecot
):
    from tracking.intake import MailboxIntake
    from tracking.services import bounce_mailbox_poll

    emails = ["ann@example.test", "bob@example.test"]
    mailbox = _mailbox(personas.workspace, dovecot)
    _setup, sent = _send(personas.workspace, smtp_sink, emails)
    dovecot.deliver_many(_bounces(sent, emails))
    intake = MailboxIntake(mailbox)

    def commit_then_die(messages):
        intake.batch(messages)  # the chunk's effects are committed here
        raise ConnectionResetError("the worker died before the move")

    def die(_incoming):
        raise ConnectionResetError("the worker died")

    result = bounce_mailbox_poll(mailbox=mailbox, handle=die, handle_batch=commit_then_die)

    assert result.failed
    assert not result.handled
    assert len(dovecot.messages("INBOX")) == 2  # nothing moved: the messages are read again
    assert Event.objects.count() == 2
    assert MailboxMessage.objects.count() == 2

    run_bounce_mailbox_step()  # the next poll reads them again: nothing counts twice

    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Processed")) == 2
    assert Event.objects.filter(kind=EventKind.BOUNCED).count() == 2
    assert MailboxMessage.objects.count() == 2
    assert Suppression.objects.count() == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.BOUNCED}


def test_pop3_goes_by_chunk_and_a_crash_before_quit_rereads_harmlessly(
    personas, smtp_sink, dovecot
):
    from tracking.intake import MailboxIntake
    from tracking.services import bounce_mailbox_poll

    emails = ["ann@example.test", "bob@example.test"]
    mailbox = _mailbox(personas.workspace, dovecot)
    BounceMailbox.objects.filter(pk=mailbox.pk).update(
        protocol=MailboxProtocol.POP3, port=dovecot.pop3s_port, disposal=MailboxDisposal.DELETE
    )
    mailbox.refresh_from_db()
    _setup, sent = _send(personas.workspace, smtp_sink, emails)
    dovecot.deliver_many(_bounces(sent, emails))
    intake = MailboxIntake(mailbox)

    def commit_then_die(messages):
        intake.batch(messages)  # the chunk's effects are committed here, in one transaction
        raise ConnectionResetError("the worker died before DELE and QUIT")

    def die(_incoming):
        raise ConnectionResetError("the worker died")

    result = bounce_mailbox_poll(mailbox=mailbox, handle=die, handle_batch=commit_then_die)

    assert (result.failed is not None, result.handled) == (True, ())
    assert len(dovecot.messages("INBOX")) == 2  # nothing deleted: read again next time
    assert Event.objects.count() == 2

    run_bounce_mailbox_step()  # the duty's poll: by chunk, nothing counts twice

    assert dovecot.messages("INBOX") == []
    assert Event.objects.filter(kind=EventKind.BOUNCED).count() == 2
    assert MailboxMessage.objects.count() == 2
    assert Suppression.objects.count() == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.BOUNCED}


POISON_PG = """
CREATE FUNCTION poison_row() RETURNS trigger AS $$ BEGIN
  IF NEW.subject = 'poison' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER poison BEFORE INSERT ON tracking_mailboxmessage
  FOR EACH ROW EXECUTE FUNCTION poison_row();
"""
POISON_SQLITE = """
CREATE TRIGGER poison BEFORE INSERT ON tracking_mailboxmessage WHEN NEW.subject = 'poison'
BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
"""


def test_a_database_error_mid_chunk_keeps_that_message_and_the_ones_after(
    personas, smtp_sink, dovecot
):
    from django.db import connection

    emails = ["ann@example.test", "bob@example.test"]
    mailbox = _mailbox(personas.workspace, dovecot)
    _setup, sent = _send(personas.workspace, smtp_sink, emails)
    ann, bob = _bounces(sent, emails)
    poison = b"Subject: poison\r\nMessage-ID: <poison@x.example>\r\nFrom: a@x.example\r\n\r\nhi\r\n"
    dovecot.deliver_many([ann, poison, bob])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POISON_PG)
        else:
            cursor.execute(POISON_SQLITE)

    run_bounce_mailbox_step()  # the chunk fails in the database, then goes one by one

    mailbox.refresh_from_db()
    assert "injected failure" in mailbox.last_error
    assert len(dovecot.messages("Processed")) == 1  # ann's, whose effects are committed
    assert len(dovecot.messages("INBOX")) == 2  # the poison and bob's, after it
    assert list(Event.objects.values_list("email", flat=True)) == ["ann@example.test"]
    assert Delivery.objects.get(email="bob@example.test").status == DeliveryStatus.SENT

    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER poison"
            + (" ON tracking_mailboxmessage" if connection.vendor == "postgresql" else "")
        )
    run_bounce_mailbox_step()

    assert dovecot.messages("INBOX") == []
    assert sorted(Event.objects.values_list("email", flat=True)) == emails
    assert MailboxMessage.objects.count() == 3
