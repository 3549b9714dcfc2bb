"""A workspace's bounce mailbox: its stored settings and poll state, against Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from accounts.tests.factories import WorkspaceFactory
from tracking.feedback.mailbox import Incoming, MailboxError
from tracking.models import BounceMailbox
from tracking.services import bounce_mailbox_poll

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def mailbox(db, dovecot, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # Dovecot is on 127.0.0.1
    return BounceMailbox.objects.create(
        workspace=WorkspaceFactory.create(),
        name="Bounces",
        host=dovecot.host,
        port=dovecot.imaps_port,
        username=dovecot.user,
        password=dovecot.password,
    )


def test_the_password_is_stored_encrypted(mailbox, dovecot):
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM tracking_bouncemailbox WHERE id = %s", [mailbox.pk])
        stored = cursor.fetchone()[0]

    assert dovecot.password not in stored
    assert BounceMailbox.objects.get(pk=mailbox.pk).password == dovecot.password


def test_a_poll_goes_on_where_the_last_one_stopped(mailbox, dovecot):
    raw = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    dovecot.deliver_many([raw, raw, raw])
    seen: list[Incoming] = []

    first = bounce_mailbox_poll(
        mailbox=mailbox, handle=seen.append, batch_size=2, ssl_context=dovecot.client_ssl_context()
    )
    mailbox.refresh_from_db()
    second = bounce_mailbox_poll(
        mailbox=mailbox, handle=seen.append, batch_size=2, ssl_context=dovecot.client_ssl_context()
    )

    assert (len(first.handled), first.more, len(second.handled), second.more) == (2, True, 1, False)
    assert len({i.key for i in seen}) == 3
    mailbox.refresh_from_db()
    assert mailbox.last_uid == second.state.last_uid
    assert mailbox.uidvalidity == second.state.uidvalidity
    assert mailbox.last_polled_at is not None
    assert mailbox.last_error == ""


def test_an_error_is_recorded_for_the_user_and_raised(mailbox, dovecot):
    mailbox.password = "wrong"
    mailbox.save()

    with pytest.raises(MailboxError):
        bounce_mailbox_poll(
            mailbox=mailbox, handle=lambda _: None, ssl_context=dovecot.client_ssl_context()
        )

    mailbox.refresh_from_db()
    assert "refused the user name or password" in mailbox.last_error
    assert mailbox.last_error_at is not None
    assert mailbox.last_uid == 0
