"""The bounce-mailbox poller against a real Dovecot (IMAP and POP3), no mocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sending import network
from tracking.feedback.mailbox import Incoming, MailboxError, MailboxSettings, PollState, poll
from tracking.feedback.parse import Kind

CORPUS = Path(__file__).parent / "corpus"
BOUNCES = ["postfix_user_unknown.eml", "gmail_no_such_user.eml", "arf_mailru_abuse.eml"]


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True  # Dovecot is on 127.0.0.1


def _raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def _imap(dovecot, **options) -> MailboxSettings:
    values = {
        "protocol": "imap",
        "host": dovecot.host,
        "port": dovecot.imaps_port,
        "username": dovecot.user,
        "password": dovecot.password,
        "security": "tls",
        "ssl_context": dovecot.client_ssl_context(),
        **options,
    }
    return MailboxSettings(**values)


def _pop3(dovecot, **options) -> MailboxSettings:
    return _imap(
        dovecot, **{"protocol": "pop3", "port": dovecot.pop3s_port, "disposal": "delete", **options}
    )


class Collector:
    """A handler that records what it was given and fails on the calls numbered in fail_on."""

    def __init__(self, fail_on: frozenset[int] | set[int] = frozenset()):
        self.seen: list[Incoming] = []
        self.calls = 0
        self.fail_on = set(fail_on)

    def __call__(self, incoming):
        self.calls += 1
        if self.calls - 1 in self.fail_on:
            self.fail_on.discard(self.calls - 1)
            raise RuntimeError("the database is down")
        self.seen.append(incoming)

    @property
    def kinds(self):
        return [i.feedback.kind for i in self.seen]


def test_imap_messages_are_parsed_handed_over_and_moved(dovecot):
    uids = dovecot.deliver_many([_raw(n) for n in BOUNCES])
    handle = Collector()

    result = poll(_imap(dovecot), PollState(), handle)

    assert handle.kinds == [Kind.HARD_BOUNCE, Kind.HARD_BOUNCE, Kind.COMPLAINT]
    assert handle.seen[0].feedback.addresses == ("anna.petrova@example.org",)
    assert result.state.last_uid == uids[-1]
    assert result.state.uidvalidity is not None
    assert [k.rsplit(":", 1)[1] for k in result.handled] == [str(u) for u in uids]
    assert (result.failed, result.more, result.skipped) == (None, False, ())
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Processed")) == 3


def test_moving_handled_messages_leaves_another_clients_deleted_ones(dovecot):
    """The poller asks what the server offers once logged in (Dovecot names MOVE and UIDPLUS
    only then): it MOVEs what it handled, and never EXPUNGEs a message another client
    flagged \\Deleted and has not expunged yet."""
    others, ours = dovecot.deliver_many([_raw(BOUNCES[0]), _raw(BOUNCES[1])])
    with dovecot.imap() as client:
        client.select("INBOX")
        uidvalidity = int(client.response("UIDVALIDITY")[1][0])
        client.uid("STORE", str(others), "+FLAGS", r"(\Deleted)")

    result = poll(_imap(dovecot), PollState(uidvalidity, others), Collector())

    assert [k.rsplit(":", 1)[1] for k in result.handled] == [str(ours)]
    assert [m.replace(b"\r\n", b"\n") for m in dovecot.messages("INBOX")] == [
        _raw(BOUNCES[0]).replace(b"\r\n", b"\n")
    ]
    assert len(dovecot.messages("Processed")) == 1


def test_connections_share_one_tls_context_until_the_extra_ca_file_changes(
    dovecot, settings, tmp_path
):
    """Loading the system's CAs costs tens of milliseconds: made once, not at every poll."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(dovecot.cert_path.read_bytes())
    settings.SENDING_EXTRA_CA_FILE = str(ca_file)
    dovecot.deliver(_raw(BOUNCES[0]))

    first = network.tls_context()
    poll(_imap(dovecot, ssl_context=None), PollState(), Collector())
    assert network.tls_context() is first
    assert dovecot.messages("INBOX") == []  # the shared context trusts Dovecot's certificate

    ca_file.write_bytes(dovecot.cert_path.read_bytes())
    os.utime(ca_file, ns=(0, ca_file.stat().st_mtime_ns + 1_000_000_000))
    assert network.tls_context() is not first


def test_imap_over_starttls_deleting(dovecot):
    dovecot.deliver_many([_raw(n) for n in BOUNCES])
    handle = Collector()

    poll(
        _imap(dovecot, port=dovecot.imap_port, security="starttls", disposal="delete"),
        PollState(),
        handle,
    )

    assert len(handle.kinds) == 3
    assert dovecot.messages("INBOX") == []
    assert "Processed" not in dovecot.folders()


def test_new_messages_come_in_bounded_batches_each_once(dovecot):
    dovecot.deliver_many([_raw(BOUNCES[0])] * 5)
    handle = Collector()
    settings = _imap(dovecot, batch_size=2, disposal="delete")
    state = PollState()

    sizes = []
    for _ in range(5):
        result = poll(settings, state, handle)
        state = result.state
        sizes.append(len(result.handled))
        if not result.more:
            break

    assert sizes == [2, 2, 1]
    assert len(handle.seen) == 5
    assert len({i.key for i in handle.seen}) == 5


def test_the_state_keeps_handled_messages_from_coming_back(dovecot):
    """With "move" gone wrong (or a server that keeps them), the last UID still holds."""
    dovecot.deliver(_raw(BOUNCES[0]))
    first = poll(_imap(dovecot), PollState(), Collector())
    dovecot.deliver_many(dovecot.messages("Processed"), folder="INBOX")
    handle = Collector()

    again = poll(_imap(dovecot), first.state, handle)

    # the copy put back is a new message with a new UID: it is offered; the old UID is not
    assert len(handle.seen) == 1
    assert again.state.last_uid > first.state.last_uid


def test_a_new_uidvalidity_starts_over(dovecot):
    uid = dovecot.deliver(_raw(BOUNCES[0]))
    handle = Collector()

    result = poll(_imap(dovecot), PollState(uidvalidity=1, last_uid=uid + 100), handle)

    assert len(handle.seen) == 1
    assert result.state.last_uid == uid


def test_a_failing_handler_loses_nothing(dovecot):
    uids = dovecot.deliver_many([_raw(n) for n in BOUNCES])
    handle = Collector(fail_on={1})

    result = poll(_imap(dovecot), PollState(), handle)

    assert result.failed == f"imap:{result.state.uidvalidity}:{uids[1]}"
    assert "the database is down" in result.error
    assert result.state.last_uid == uids[0]
    assert len(dovecot.messages("Processed")) == 1
    assert len(dovecot.messages("INBOX")) == 2

    retry = poll(_imap(dovecot), result.state, handle)

    assert retry.failed is None
    assert handle.kinds == [Kind.HARD_BOUNCE, Kind.HARD_BOUNCE, Kind.COMPLAINT]
    assert dovecot.messages("INBOX") == []


def test_a_message_over_the_size_limit_is_skipped_reported_and_left(dovecot):
    small = _raw(BOUNCES[0])
    big = small + b"\n" + b"x" * 76 * 200 + b"\n"
    uids = dovecot.deliver_many([small, big, small])
    handle = Collector()
    settings = _imap(dovecot, max_message_bytes=len(small) + 500)

    result = poll(settings, PollState(), handle)

    assert len(handle.seen) == 2
    assert [s.key.rsplit(":", 1)[1] for s in result.skipped] == [str(uids[1])]
    assert "over the limit" in result.skipped[0].reason
    assert result.state.last_uid == uids[2]
    assert len(dovecot.messages("INBOX")) == 1  # the big one, for a person to look at

    assert poll(settings, result.state, handle).skipped == ()  # not reported again


def test_pop3_messages_are_handled_and_deleted(dovecot):
    dovecot.deliver_many([_raw(n) for n in BOUNCES])
    handle = Collector()

    result = poll(_pop3(dovecot), PollState(), handle)

    assert handle.kinds == [Kind.HARD_BOUNCE, Kind.HARD_BOUNCE, Kind.COMPLAINT]
    assert all(k.startswith("pop3:") for k in result.handled)
    assert dovecot.messages("INBOX") == []


def test_pop3_over_stls_with_a_failing_handler_and_an_oversized_message(dovecot):
    small = _raw(BOUNCES[0])
    dovecot.deliver_many([small, small + b"x" * 5000 + b"\n", small, small])
    handle = Collector(fail_on={2})
    settings = _pop3(
        dovecot, port=dovecot.pop3_port, security="starttls", max_message_bytes=len(small) + 500
    )

    first = poll(settings, PollState(), handle)

    assert len(first.handled) == 2
    assert first.failed is not None
    assert len(first.skipped) == 1
    assert len(dovecot.messages("INBOX")) == 2  # the big one and the one that failed

    second = poll(settings, first.state, handle)

    assert len(second.handled) == 1
    assert second.skipped == ()
    assert len(dovecot.messages("INBOX")) == 1  # the big one stays


def test_pop3_hands_a_chunk_over_at_once_and_deletes_it_after(dovecot):
    dovecot.deliver_many([_raw(n) for n in BOUNCES])
    chunks: list[list[Kind]] = []
    one_by_one = Collector(fail_on={0, 1, 2})  # not to be used: the chunk went through

    def handle_batch(messages):
        chunks.append([m.feedback.kind for m in messages])

    result = poll(_pop3(dovecot), PollState(), one_by_one, handle_batch)

    assert chunks == [[Kind.HARD_BOUNCE, Kind.HARD_BOUNCE, Kind.COMPLAINT]]
    assert (one_by_one.calls, result.failed) == (0, None)
    assert len(result.handled) == 3
    assert all(k.startswith("pop3:") for k in result.handled)
    assert dovecot.messages("INBOX") == []


def test_pop3_a_failing_chunk_goes_one_by_one_and_keeps_what_was_not_handled(dovecot):
    small = _raw(BOUNCES[0])
    dovecot.deliver_many([small, small + b"x" * 5000 + b"\n", small, small])
    handle = Collector(fail_on={1})
    settings = _pop3(dovecot, max_message_bytes=len(small) + 500)

    def handle_batch(_messages):
        raise RuntimeError("the database is down")

    result = poll(settings, PollState(), handle, handle_batch)

    assert len(result.handled) == 1  # the first; the second fails and the third waits
    assert "the database is down" in result.error
    assert len(result.skipped) == 1
    assert len(dovecot.messages("INBOX")) == 3  # the big one, the failed one, the one after


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_wrong_password_is_a_clear_error(dovecot, protocol):
    settings = (_imap if protocol == "imap" else _pop3)(dovecot, password="wrong")

    with pytest.raises(MailboxError, match="refused the user name or password") as raised:
        poll(settings, PollState(), Collector())

    assert raised.value.kind == "auth"


def test_an_unreachable_server_is_a_clear_error(dovecot):
    settings = _imap(dovecot, port=1)  # nothing listens on port 1

    with pytest.raises(MailboxError, match="Connection refused") as raised:
        poll(settings, PollState(), Collector())

    assert raised.value.kind == "connection"


def test_an_untrusted_certificate_is_refused(dovecot):
    settings = _imap(dovecot, ssl_context=None)  # the system's CAs: the test CA is not one

    with pytest.raises(MailboxError, match="certificate") as raised:
        poll(settings, PollState(), Collector())

    assert raised.value.kind == "connection"


def test_private_addresses_and_plaintext_are_refused_in_production(dovecot, settings):
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False

    with pytest.raises(MailboxError, match="Private address refused"):
        poll(_imap(dovecot), PollState(), Collector())
    with pytest.raises(MailboxError, match="never sent in the clear") as raised:
        poll(_imap(dovecot, security="none", port=dovecot.imap_port), PollState(), Collector())
    assert raised.value.kind == "settings"


def test_plaintext_on_loopback_where_private_hosts_are_allowed(dovecot):
    dovecot.deliver(_raw(BOUNCES[0]))
    handle = Collector()

    poll(_imap(dovecot, security="none", port=dovecot.imap_port), PollState(), handle)

    assert len(handle.seen) == 1


def test_settings_that_cannot_work_are_refused(dovecot):
    with pytest.raises(MailboxError, match="only be deleted"):
        poll(_pop3(dovecot, disposal="move"), PollState(), Collector())
    with pytest.raises(MailboxError, match="does not exist") as raised:
        poll(_imap(dovecot, folder="Nowhere"), PollState(), Collector())
    assert raised.value.kind == "settings"


def test_a_message_left_behind_with_the_highest_uid_is_not_offered_again(dovecot):
    """IMAP answers "UID n:*" with the highest UID even when it is below n."""
    small = _raw(BOUNCES[0])
    dovecot.deliver_many([small, small + b"x" * 5000 + b"\n"])
    settings = _imap(dovecot, max_message_bytes=len(small) + 500)
    first = poll(settings, PollState(), Collector())
    handle = Collector()

    second = poll(settings, first.state, handle)

    assert len(first.skipped) == 1
    assert (second.handled, second.skipped, handle.seen) == ((), (), [])
    assert second.state == first.state
