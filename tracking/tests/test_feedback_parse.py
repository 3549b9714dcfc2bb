"""The feedback parser against a corpus of real-world-shaped messages, and its bounds."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracking.feedback import parse as parse_module
from tracking.feedback.parse import MAX_BYTES, Cause, Feedback, Kind, parse

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text("utf-8"))


def test_every_corpus_file_has_an_expected_result():
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".eml", ".bin")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_is_read_as_expected(name):
    expected = EXPECTED[name]
    feedback = parse((CORPUS / name).read_bytes())

    assert feedback.kind == Kind(expected["kind"]), feedback
    optional = {"message_id", "verp_token", "feedback_type", "status"}
    for key in ("detector", "message_id", "verp_token", "feedback_type", "status", "subject"):
        if key in expected:
            want = expected[key] or (None if key in optional else "")
            assert getattr(feedback, key) == want, (key, feedback)
    if "addresses" in expected:
        assert list(feedback.addresses) == expected["addresses"]
    if "cause" in expected:
        assert feedback.recipients[0].cause == Cause(expected["cause"])
    if "in_reply_to" in expected:
        assert list(feedback.in_reply_to) == expected["in_reply_to"]


def test_remembered_types_and_headers_read_as_the_plain_parser_does():
    """The parser's messages remember their content type and decoded headers (the classifiers
    ask for them dozens of times): every corpus message, cut short or whole, reads the same
    as with the standard library's plain messages."""
    samples = []
    for name in sorted(EXPECTED):
        raw = (CORPUS / name).read_bytes()
        samples += [raw, *(raw[:cut] for cut in range(0, len(raw), max(1, len(raw) // 25)))]
    remembered = [parse(raw) for raw in samples]

    plain = [parse(raw, message_class=email.message.Message) for raw in samples]
    assert plain == remembered

    class Blind(email.message.Message):  # proof that the class asked for is the one used
        def get_content_type(self) -> str:
            return "text/plain"

    dsn = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    assert parse(dsn, message_class=Blind).kind != parse(dsn).kind


def test_a_remembered_content_type_or_header_follows_a_change():
    msg = parse_module._message_parser().parsebytes(
        b"Content-Type: text/plain\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nhi\r\n"
    )
    assert (msg.get_content_type(), parse_module._header(msg, "Subject")) == ("text/plain", "café")

    msg.replace_header("Content-Type", "text/html")
    msg.add_header("X-Autoreply", "yes")
    msg.replace_header("Subject", "out of office")

    assert msg.get_content_type() == "text/html"
    assert parse_module._header(msg, "Subject") == "out of office"
    del msg["Content-Type"]
    msg.set_default_type("message/rfc822")
    assert msg.get_content_type() == "message/rfc822"


def test_a_parts_content_type_is_worked_out_once(monkeypatch):
    """Each ask scans the part's headers and parameters: once per part, not once per
    classifier."""
    asked = []
    plain = email.message.Message.get_content_type

    def counted(self):
        asked.append(self)
        return plain(self)

    monkeypatch.setattr(email.message.Message, "get_content_type", counted)
    for name in ("exchange_online_ndr.eml", "arf_yahoo_abuse.eml", "exim_failed_recipients.eml"):
        asked.clear()
        parse((CORPUS / name).read_bytes())
        assert len(asked) == len({id(part) for part in asked}), name


def test_a_bounce_carries_the_servers_words():
    feedback = parse((CORPUS / "postfix_user_unknown.eml").read_bytes())

    assert "User unknown in virtual mailbox table" in feedback.diagnostic
    assert feedback.recipients[0].remote_mta == "mx.example.org"


def test_a_reply_keeps_its_text():
    feedback = parse((CORPUS / "human_reply.eml").read_bytes())

    assert "garden chairs" in feedback.text


def test_every_recipient_of_a_report_is_kept_with_its_own_outcome():
    raw = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    extra = b"Final-Recipient: rfc822; slow@example.net\nAction: delayed\nStatus: 4.4.1\n\n"
    raw = raw.replace(
        b"--4Zk9Qm1Jx8z9vBq.1772529247/mx1.shop.example\nContent-Description: Undelivered",
        extra + b"--4Zk9Qm1Jx8z9vBq.1772529247/mx1.shop.example\nContent-Description: Undelivered",
    )

    feedback = parse(raw)

    assert feedback.kind == Kind.HARD_BOUNCE  # the worst outcome names the message
    assert [(r.address, r.kind) for r in feedback.recipients] == [
        ("anna.petrova@example.org", Kind.HARD_BOUNCE),
        ("slow@example.net", Kind.DELAYED),
    ]


def test_a_report_of_success_is_no_bounce_and_no_auto_reply():
    raw = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    raw = raw.replace(b"Action: failed", b"Action: relayed").replace(
        b"Status: 5.1.1", b"Status: 2.0.0"
    )

    feedback = parse(raw)

    assert feedback.kind == Kind.UNPARSED
    assert "success" in feedback.note
    assert feedback.message_id == "<42.1017.3f9a2c81d0b7@shop.example>"


def test_a_not_spam_report_is_no_complaint():
    raw = (CORPUS / "arf_mailru_abuse.eml").read_bytes()

    feedback = parse(raw.replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam"))

    assert feedback.kind == Kind.UNPARSED
    assert feedback.feedback_type == "not-spam"


def test_an_auto_reply_with_a_null_sender_is_still_an_auto_reply():
    raw = (CORPUS / "out_of_office_outlook.eml").read_bytes()

    feedback = parse(raw.replace(b"Return-Path: <l.martin@fabrikam.example>", b"Return-Path: <>"))

    assert feedback.kind == Kind.AUTO_REPLY


def _timed(raw: bytes) -> tuple[Feedback, float]:
    started = time.perf_counter()
    feedback = parse(raw)
    return feedback, time.perf_counter() - started


def test_a_50_mb_bounce_is_read_from_its_start_in_bounded_time():
    head = (CORPUS / "postfix_user_unknown.eml").read_bytes()
    raw = head + b"\n" + (b"A" * 76 + b"\n") * (50 * 1024 * 1024 // 77)

    feedback, seconds = _timed(raw)

    assert feedback.kind == Kind.HARD_BOUNCE
    assert f"only the first {MAX_BYTES} of {len(raw)} bytes were read" in feedback.note
    assert seconds < 5


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"Content-Type: multipart/mixed; boundary=a\n\n"
            + b"--a\nContent-Type: multipart/mixed; boundary=a\n\n" * 20000,
            id="deeply-nested-multiparts",
        ),
        pytest.param(b"Content-Type: message/rfc822\n\n" * 50000, id="deeply-nested-messages"),
        pytest.param(
            b"Content-Type: multipart/mixed; boundary=b\n\n"
            + b"--b\nContent-Type: text/plain\n\nx\n" * 100000,
            id="100000-parts",
        ),
        pytest.param(
            b"From: MAILER-DAEMON@x.example\nSubject: failure notice\n\nHi. This is the qmail\n\n"
            + b"<" * 2_000_000,
            id="2-mb-line",
        ),
        pytest.param(b"Received: x\n" * 300000 + b"\n", id="300000-header-lines"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00" * 1000, id="binary"),
    ],
)
def test_hostile_input_is_unparsed_in_bounded_time(raw):
    feedback, seconds = _timed(raw)

    assert feedback.kind == Kind.UNPARSED
    assert seconds < 3  # each takes well under 0.5 s here; the stdlib alone takes 2-6 s uncut


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw):
    assert isinstance(parse(raw), Feedback)


_LINES = st.sampled_from(
    [
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x",
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=x",
        b"Content-Type: message/delivery-status",
        b"Content-Type: message/feedback-report",
        b"Content-Type: message/rfc822",
        b"Content-Type: text/rfc822-headers",
        b"Content-Transfer-Encoding: base64",
        b"From: MAILER-DAEMON@example.net",
        b"Return-Path: <>",
        b"X-Failed-Recipients: a@b.example, <<>>",
        b"Auto-Submitted: auto-replied",
        b"Final-Recipient: rfc822; a@b.example",
        b"Original-Recipient: rfc822;",
        b"Action: failed",
        b"Action: delayed",
        b"Status: 5.1.1",
        b"Status: 9.9.9999",
        b"Diagnostic-Code: smtp; 550 5.1.1 no",
        b"Feedback-Type: abuse",
        b"Original-Rcpt-To: <@>",
        b"Subject: =?utf-8?b?!!!?= undeliverable",
        b"In-Reply-To: <x@y>",
        b"Hi. This is the qmail-send program",
        b"<a@b.example>:",
        b"--x",
        b"--x--",
        b"",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=60))
def test_report_shaped_fragments_never_raise(lines):
    """Random arrangements of the lines the parser looks for reach deeper than random bytes."""
    assert isinstance(parse(b"\n".join(lines)), Feedback)
