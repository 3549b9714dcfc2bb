"""The engine's pipelined SMTP client against the real test server, PIPELINING offered."""

from __future__ import annotations

import io
import smtplib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from content.rendering import TemplateParts, compile_template
from sending.tests.factories import SendingAccountFactory, rendered
from sending.transports.base import OutgoingMessage, SendKind
from sending.transports.smtp_wire import ConnectionGroup, WireSmtpTransport, read_reply, wire_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipelining(smtp_sink):
    """The test sink, offering PIPELINING."""
    smtp_sink.offer_pipelining()
    return smtp_sink


def outgoing(to: str, **kwargs) -> OutgoingMessage:
    return OutgoingMessage.from_rendered(rendered(to=to, **kwargs))


def feed(addresses: list[str]) -> Iterator[tuple[str, OutgoingMessage]]:
    return ((address, outgoing(address)) for address in addresses)


def never() -> bool:
    return False


def send_all(transport, addresses: list[str], stop=never) -> dict[str, Any]:
    """Each address's SendResult, or None for a message the stop kept back."""
    return dict(transport.send_all(feed(addresses), stop))


def wire_for(sink, **kwargs) -> WireSmtpTransport:
    kwargs.setdefault("smtp_host", sink.host)
    kwargs.setdefault("smtp_port", sink.port)
    return WireSmtpTransport(SendingAccountFactory.create(**kwargs))


def test_the_server_offers_pipelining_and_many_messages_share_one_connection(pipelining):
    transport = wire_for(pipelining)
    addresses = [f"r{i}@example.test" for i in range(12)]
    with transport:
        results = send_all(transport, addresses)
        assert transport._conn is not None
        assert transport._conn.has_extn("pipelining")
    assert all(r is not None and r.kind == SendKind.SENT for r in results.values())
    assert [m.rcpt_tos[0] for m in pipelining.wait_for(12)] == addresses
    assert pipelining.connections == 1
    assert results["r0@example.test"].code == 250


def test_refusals_at_rcpt_are_classified_and_the_connection_serves_on(pipelining):
    transport = wire_for(pipelining)
    addresses = ["a@example.test", "nouser+1@example.test", "tempfail+2@example.test"]
    addresses += ["policy+3@example.test", "full+4@example.test", "b@example.test"]
    with transport:
        results = send_all(transport, addresses)
    assert results["a@example.test"].ok
    assert results["b@example.test"].ok
    unknown = results["nouser+1@example.test"]
    assert (unknown.kind, unknown.code, unknown.enhanced, unknown.suppress) == (
        SendKind.PERMANENT, 550, "5.1.1", True,
    )  # fmt: skip
    assert results["tempfail+2@example.test"].kind == SendKind.TEMPORARY
    policy = results["policy+3@example.test"]
    assert (policy.kind, policy.enhanced, policy.suppress) == (SendKind.PERMANENT, "5.7.1", False)
    assert results["full+4@example.test"].kind == SendKind.TEMPORARY  # 552 at RCPT
    assert [m.rcpt_tos[0] for m in pipelining.wait_for(2)] == ["a@example.test", "b@example.test"]
    assert pipelining.connections == 1


def test_a_refusal_after_the_dot_is_classified(pipelining):
    pipelining.set_reply("late@example.test", "554 5.7.1 Spam detected", stage="data")
    transport = wire_for(pipelining)
    with transport:
        results = send_all(transport, ["late@example.test", "next@example.test"])
    assert (results["late@example.test"].kind, results["late@example.test"].enhanced) == (
        SendKind.PERMANENT, "5.7.1",
    )  # fmt: skip
    assert results["next@example.test"].ok


def test_a_connection_dropped_after_the_dot_is_ambiguous_and_the_rest_go_on(pipelining):
    pipelining.drop_during_data(times=1)
    transport = wire_for(pipelining)
    with transport:
        results = send_all(transport, ["a@example.test", "b@example.test", "c@example.test"])
    assert results["a@example.test"].kind == SendKind.AMBIGUOUS
    assert results["b@example.test"].ok
    assert results["c@example.test"].ok
    assert len(pipelining.dropped) == 1
    assert [m.rcpt_tos[0] for m in pipelining.wait_for(2)] == ["b@example.test", "c@example.test"]


def test_a_421_is_the_accounts_fault_and_nothing_more_is_taken(pipelining):
    pipelining.set_reply("busy@example.test", "421 4.7.0 Too many connections")
    transport = wire_for(pipelining)
    addresses = ["a@example.test", "busy@example.test", "c@example.test", "d@example.test"]
    source = feed(addresses)
    with transport:
        results: dict[str, Any] = dict(transport.send_all(source, never))
    assert results["a@example.test"].ok
    assert results["busy@example.test"].kind == SendKind.CONNECTION
    assert "c@example.test" not in results or results["c@example.test"] is None
    assert next(source)[0] in ("c@example.test", "d@example.test")  # the rest stays untaken
    assert [m.rcpt_tos[0] for m in pipelining.messages] == ["a@example.test"]


def test_a_refused_password_is_an_auth_fault(pipelining):
    pipelining.require_auth("mailer", "right")
    transport = wire_for(pipelining, smtp_username="mailer", smtp_password="wrong")
    try:  # not `with`: that would open the connection, and fail, before send_all
        results = send_all(transport, ["a@example.test", "b@example.test"])
    finally:
        transport.close()
    assert results == {"a@example.test": results["a@example.test"]}
    assert results["a@example.test"].kind == SendKind.AUTH
    assert pipelining.messages == []


def test_a_server_that_never_answers_times_out_as_the_accounts_fault(pipelining, settings):
    settings.SENDING_TIMEOUT = 1
    pipelining.hang()
    transport = wire_for(pipelining)
    try:
        results = send_all(transport, ["a@example.test"])
    finally:
        transport.close()
    assert results["a@example.test"].kind == SendKind.CONNECTION
    assert "Timed out" in results["a@example.test"].reply


def test_stop_before_a_body_leaves_the_message_untried(pipelining):
    transport = wire_for(pipelining)
    # Asked at the start, before an envelope that follows no body, and before each body.
    answers = iter([False, False, False, True])
    with transport:
        results = send_all(
            transport, ["a@example.test", "b@example.test", "c@example.test"], lambda: next(answers)
        )
    assert results["a@example.test"].ok
    assert results["b@example.test"] is None  # its envelope went, its body never did
    assert "c@example.test" not in results
    assert [m.rcpt_tos[0] for m in pipelining.wait_for(1)] == ["a@example.test"]


def test_a_kept_open_connection_the_server_closed_is_reopened(pipelining):
    transport = wire_for(pipelining)
    with transport:
        assert send_all(transport, ["first@example.test"])["first@example.test"].ok
        pipelining.stop()  # the server closes idle connections, then is back
        pipelining.start()
        second = send_all(transport, ["second@example.test"])["second@example.test"]
    assert second is not None
    assert second.ok, second
    assert [m.rcpt_tos[0] for m in pipelining.wait_for(2)] == [
        "first@example.test",
        "second@example.test",
    ]


def test_lines_that_start_with_a_dot_arrive_intact(pipelining):
    transport = wire_for(pipelining)
    text = ".one\n..two\nthree\n.\n"
    message = OutgoingMessage.from_rendered(rendered(to="dots@example.test", text=text, html=None))
    with transport:
        [(_, result)] = list(transport.send_all(iter([("m", message)]), never))
    assert result is not None
    assert result.ok
    [received] = pipelining.wait_for(1)
    assert received.text == text


def test_eight_bit_bodies_and_international_addresses_are_announced(pipelining):
    transport = wire_for(pipelining)
    message = OutgoingMessage.from_rendered(
        rendered(to="jürgen@exämple.test", text="Grüße\n", html=None)
    )
    with transport:
        [(_, result)] = list(transport.send_all(iter([("m", message)]), never))
    assert result is not None
    assert result.ok, result
    [received] = pipelining.wait_for(1)
    assert received.rcpt_tos == ["jürgen@exämple.test"]
    assert received.text == "Grüße\n"


def test_a_group_shares_the_messages_over_its_connections(pipelining):
    account = SendingAccountFactory.create(smtp_host=pipelining.host, smtp_port=pipelining.port)
    group = ConnectionGroup([WireSmtpTransport(account) for _ in range(3)])
    addresses = [f"r{i}@example.test" for i in range(30)] + ["nouser+9@example.test"]
    with group:
        results = send_all(group, addresses)
    assert len(results) == 31
    assert sum(1 for r in results.values() if r is not None and r.ok) == 30
    assert results["nouser+9@example.test"].suppress
    received = [m.rcpt_tos[0] for m in pipelining.wait_for(30)]
    assert sorted(received) == sorted(addresses[:30])
    assert pipelining.connections == 3


def test_a_group_stops_taking_messages_after_an_account_fault(pipelining):
    pipelining.set_reply("busy@example.test", "421 4.7.0 Too many connections")
    account = SendingAccountFactory.create(smtp_host=pipelining.host, smtp_port=pipelining.port)
    group = ConnectionGroup([WireSmtpTransport(account) for _ in range(2)])
    addresses = ["busy@example.test"] + [f"r{i}@example.test" for i in range(20)]
    source = feed(addresses)
    with group:
        results: dict[str, Any] = dict(group.send_all(source, never))
    assert results["busy@example.test"].kind == SendKind.CONNECTION
    assert len(results) <= 3  # the fault, and at most what the other connection had started
    assert len(list(source)) >= 18


def test_without_pipelining_messages_go_one_at_a_time(smtp_sink):
    transport = wire_for(smtp_sink)
    with transport:
        results = send_all(transport, ["a@example.test", "nouser+1@example.test", "b@example.test"])
        assert transport._conn is not None
        assert not transport._conn.has_extn("pipelining")
    assert results["a@example.test"].ok
    assert results["b@example.test"].ok
    assert results["nouser+1@example.test"].suppress
    assert smtp_sink.connections == 1


def test_wire_body_ends_lines_in_crlf_and_stuffs_dots():
    assert wire_body(b"a\nb\r\n.c\r.d") == b"a\r\nb\r\n..c\r\n..d\r\n.\r\n"
    assert wire_body(b".start\r\n") == b"..start\r\n.\r\n"
    assert wire_body(b"plain\r\n") == b"plain\r\n.\r\n"


def test_a_rendered_message_goes_as_it_is_save_for_its_dots():
    template = compile_template(TemplateParts(subject="s", text="{first_name}\n.b"))
    message = template.render({"first_name": "a\r.c"}, from_email="a@x.test", to="b@x.test")
    outgoing = OutgoingMessage.from_rendered(message)
    assert outgoing.crlf  # the renderer's promise: CRLF line ends only
    assert wire_body(outgoing.raw, crlf=True) == wire_body(outgoing.raw)
    # Bytes of unknown origin are checked: a bare LF is never trusted to be a line end.
    assert OutgoingMessage("a@x.test", ("b@x.test",), b"a\nb", "<m@x>").crlf is False
    assert wire_body(b".a\r\nb\r\n", crlf=True) == b"..a\r\nb\r\n.\r\n"


def test_multi_line_replies_are_read_whole():
    reader = io.BytesIO(b"250-first line\r\n250-second\r\n250 2.0.0 last\r\n354 go ahead\r\n")
    assert read_reply(reader) == (250, b"first line\nsecond\n2.0.0 last")
    assert read_reply(reader) == (354, b"go ahead")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="unexpectedly closed"):
        read_reply(reader)


# ----------------------------------------------------------------- state after a failure
# A connection left in the middle of a transaction (the caller raised while the pipeline had
# an envelope or a body outstanding) must never carry the next batch: its MAIL FROM would be
# written into the open DATA of an earlier message, and replies read as another's.


class RecordFailed(Exception):
    """What the engine's `record` raises when the database goes away mid-batch."""


def fail_after(transport, addresses: list[str], k: int) -> None:
    """Consume send_all as the engine does, and raise at the k-th result."""

    def consume() -> None:
        for n, _ in enumerate(transport.send_all(feed(addresses), never)):
            if n == k:
                raise RecordFailed

    with pytest.raises(RecordFailed):
        consume()


def assert_each_went_to_its_own(sink) -> None:
    for message in sink.messages:
        assert b"MAIL FROM:" not in message.data, message.data[:300]
        assert b"RCPT TO:" not in message.data, message.data[:300]
        assert message.header("To") == message.rcpt_tos[0]


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_a_batch_that_raised_mid_pipeline_leaves_no_state_for_the_next(pipelining, k):
    transport = wire_for(pipelining)
    first = [f"first{i}@example.test" for i in range(8)]
    second = [f"second{i}@example.test" for i in range(8)]
    with transport:
        fail_after(transport, first, k)
        results = send_all(transport, second)
    pipelining.wait_for(k + 1 + len(second))
    assert_each_went_to_its_own(pipelining)
    received = {m.rcpt_tos[0]: m for m in pipelining.messages}
    # Each result of the second batch is its own: sent means received, by that address.
    for address, result in results.items():
        assert result is not None
        assert result.ok, result
        assert address in received
        assert result.reply.startswith("250 2.0.0"), result.reply  # the dot's, not RCPT's


def test_a_pipeline_still_suspended_does_not_lend_its_connection(pipelining):
    """Even when the abandoned pipeline is not closed (still referenced somewhere), its
    connection is not reused, and closing it later does not harm the new one."""
    transport = wire_for(pipelining)
    with transport:
        suspended = transport.send_all(feed([f"first{i}@example.test" for i in range(6)]), never)
        first = next(suspended)[1]
        assert first is not None
        assert first.ok
        results = send_all(transport, ["second0@example.test", "second1@example.test"])
        suspended.close()
        third = send_all(transport, ["third@example.test"])
    assert all(r is not None and r.ok for r in [*results.values(), *third.values()])
    assert_each_went_to_its_own(pipelining)
    assert pipelining.connections == 2  # the abandoned one, and one new for the rest


def test_a_group_closed_mid_pipeline_closes_each_busy_connection(pipelining):
    account = SendingAccountFactory.create(smtp_host=pipelining.host, smtp_port=pipelining.port)
    group = ConnectionGroup([WireSmtpTransport(account) for _ in range(3)])
    with group:
        fail_after(group, [f"first{i}@example.test" for i in range(20)], 4)
        assert all(member._conn is None for member in group.members)
        results = send_all(group, [f"second{i}@example.test" for i in range(10)])
    assert all(r is not None and r.ok for r in results.values())
    assert_each_went_to_its_own(pipelining)


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data", "dot"])
def test_a_connection_dropped_at_each_stage_is_classified_and_the_rest_go_on(pipelining, stage):
    transport = wire_for(pipelining)
    addresses = [f"r{i}@example.test" for i in range(6)]
    with transport:
        assert send_all(transport, ["warm@example.test"])["warm@example.test"].ok
        pipelining.drop_at(stage)
        results = send_all(transport, addresses)
    assert_each_went_to_its_own(pipelining)
    received = {m.rcpt_tos[0] for m in pipelining.messages}
    for address, result in results.items():
        assert (result is not None and result.ok) == (address in received), (address, result)
    unconfirmed = [a for a, r in results.items() if r is None or not r.ok]
    if stage == "mail":  # a kept-open connection closed at MAIL: nothing was sent, sent again
        assert unconfirmed == []
    else:
        assert len(unconfirmed) == 1
        kind = results[unconfirmed[0]].kind
        assert kind == (SendKind.AMBIGUOUS if stage == "dot" else SendKind.CONNECTION)
    assert not [r for r in results.values() if r is not None and r.ok and "2.1.5" in r.reply]


def test_stop_is_asked_before_each_envelope_even_when_every_envelope_is_refused(pipelining):
    transport = wire_for(pipelining)
    asked = []

    def stop_after_three() -> bool:
        asked.append(1)
        return len(pipelining.refusals) >= 3

    addresses = [f"policy+{i}@example.test" for i in range(20)]
    with transport:
        results = send_all(transport, addresses, stop_after_three)
    assert len(pipelining.refusals) == 3
    assert len(results) == 3


def test_closing_a_connection_in_the_middle_of_data_sends_no_quit(pipelining, settings):
    """A QUIT written into an open DATA becomes a line of the message, and its reply never
    comes: closing would wait for the whole timeout."""
    settings.SENDING_TIMEOUT = 3
    transport = wire_for(pipelining)
    with transport:
        steps = transport.steps(feed(["a@example.test", "b@example.test"]), never)
        assert next(steps) is None  # a's envelope written
        assert next(steps) is None  # a's body and b's envelope written
        started = time.monotonic()
        transport.close()  # b's DATA is open on the server
        assert time.monotonic() - started < 1.5
    assert [m.rcpt_tos[0] for m in pipelining.wait_for(1)] == ["a@example.test"]
    assert_each_went_to_its_own(pipelining)
