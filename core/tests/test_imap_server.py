"""The private Dovecot the bounce-mailbox tests use: IMAP and POP3, plaintext and TLS."""

from __future__ import annotations

import imaplib
import poplib
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

BOUNCE = (
    b"From: MAILER-DAEMON@mx.example.net\r\n"
    b"To: bounces+abc@bounce.shop.example\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <bounce-1@mx.example.net>\r\n"
    b"\r\n"
    b"The mail system\r\n"
)


def _numbered(n: int) -> bytes:
    return BOUNCE.replace(b"bounce-1@", f"bounce-{n}@".encode())


def test_delivered_messages_are_listed_and_fetched_over_imap(dovecot):
    uids = dovecot.deliver_many([_numbered(1), _numbered(2)])

    with dovecot.imap() as client:
        client.select("INBOX")
        _, data = client.uid("SEARCH", "ALL")
        assert [int(uid) for uid in data[0].split()] == uids
        _, fetched = client.uid("FETCH", str(uids[1]), "(RFC822)")
    assert fetched[0][1].replace(b"\r\n", b"\n") == _numbered(2).replace(b"\r\n", b"\n")


def test_many_messages_go_in_few_commands_in_order_with_their_uids(dovecot):
    """Several hundred messages (bare LF ones too) in one MULTIAPPEND each, in order, each
    with its UID, byte for byte (CRLF) as given."""
    messages = [_numbered(n) for n in range(450)]
    messages[7] = messages[7].replace(b"\r\n", b"\n")

    uids = dovecot.deliver_many(messages)

    assert len(uids) == 450
    assert uids == sorted(set(uids))
    assert 0 not in uids
    with dovecot.imap() as client:
        client.select("INBOX")
        _, data = client.uid("SEARCH", "ALL")
        assert [int(uid) for uid in data[0].split()] == uids
        _, fetched = client.uid("FETCH", f"{uids[0]}:{uids[-1]}", "(BODY.PEEK[])")
    bodies = [item[1] for item in fetched if isinstance(item, tuple)]
    assert bodies == [_numbered(n) for n in range(450)]


def test_imap_deletes_and_moves(dovecot):
    first, second = dovecot.deliver_many([_numbered(1), _numbered(2)])

    with dovecot.imap() as client:
        client.create("Processed")
        client.select("INBOX")
        assert client.uid("MOVE", str(first), "Processed")[0] == "OK"
        client.uid("STORE", str(second), "+FLAGS", r"(\Deleted)")
        client.expunge()

    assert dovecot.messages("INBOX") == []
    assert [m.replace(b"\r\n", b"\n") for m in dovecot.messages("Processed")] == [
        _numbered(1).replace(b"\r\n", b"\n")
    ]


def test_uids_keep_growing_after_a_reset(dovecot):
    """A poller remembers the last UID it saw: a fresh test must not see UID 1 reused with
    different mail inside one UIDVALIDITY, as a real server never does."""
    before = dovecot.deliver(_numbered(1))

    dovecot.reset()
    after = dovecot.deliver(_numbered(2))

    assert after > before
    assert dovecot.folders() == ["INBOX"]


def test_pop3_lists_retrieves_and_deletes(dovecot):
    dovecot.deliver_many([_numbered(1), _numbered(2)])

    with dovecot.pop3() as client:
        count, _ = client.stat()
        assert count == 2
        _, lines, _ = client.retr(1)
        assert b"Message-ID: <bounce-1@mx.example.net>" in lines
        _, uidls, _ = client.uidl()
        assert len(uidls) == 2
        client.dele(1)

    with dovecot.pop3() as client:
        assert client.stat()[0] == 1


def test_tls_implicit_and_starttls_with_the_test_certificate(dovecot):
    dovecot.deliver(_numbered(1))
    context = dovecot.client_ssl_context()

    with dovecot.imap(tls=True) as client:
        assert client.select("INBOX")[1] == [b"1"]
    plain = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=10)
    plain.starttls(ssl_context=context)
    assert plain.login(dovecot.user, dovecot.password)[0] == "OK"
    plain.logout()
    with dovecot.pop3(tls=True) as client:
        assert client.stat()[0] == 1
    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    pop.stls(context=context)
    pop.user(dovecot.user)
    assert pop.pass_(dovecot.password).startswith(b"+OK")
    pop.quit()


def test_a_client_that_does_not_trust_the_certificate_is_refused(dovecot):
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            dovecot.host, dovecot.imaps_port, ssl_context=ssl.create_default_context(), timeout=10
        )


def test_a_wrong_password_is_refused(dovecot):
    client = imaplib.IMAP4(dovecot.host, dovecot.imap_port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(dovecot.user, "wrong")
    client.shutdown()
    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    pop.user(dovecot.user)
    with pytest.raises(poplib.error_proto, match="ERR"):
        pop.pass_("wrong")
    pop.close()


def test_users_have_mailboxes_of_their_own(dovecot):
    dovecot.add_user("replies", "replies-password")
    dovecot.deliver(_numbered(1), user="replies")

    assert dovecot.messages(user="replies") != []
    assert dovecot.messages() == []


def test_a_stopped_server_refuses_connections_and_comes_back_with_its_mail(private_dovecot):
    server = private_dovecot
    server.deliver(_numbered(1))
    server.stop()

    with pytest.raises(ConnectionRefusedError):
        imaplib.IMAP4(server.host, server.imap_port, timeout=5)

    server.start()
    assert len(server.messages()) == 1


def test_cleanup_ends_the_server_and_removes_its_files(private_dovecot):
    server = private_dovecot
    directory = server.directory
    server.deliver(_numbered(1))

    server.cleanup()

    assert not server.is_running
    assert not directory.exists()
    with pytest.raises(ConnectionRefusedError):
        imaplib.IMAP4(server.host, server.imap_port, timeout=5)


@pytest.mark.usefixtures("_dovecot_server")  # skips without Dovecot
def test_no_dovecot_outlives_a_killed_test_run(tmp_path):
    """A run killed by a timeout must not leave a server behind on a shared machine."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, time\n"
        "from core.testing.imap import DovecotServer\n"
        "server = DovecotServer()\n"
        "server.start()\n"
        "print(server._process.pid, server.directory, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    assert child.stdout is not None
    pid, directory = child.stdout.readline().decode().split()
    master = int(pid)

    child.kill()
    child.wait()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(master):
        time.sleep(0.1)
    shutil.rmtree(directory, ignore_errors=True)  # the killed run could not
    assert not _alive(master)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return status != "Z"
