"""Property tests of the hand-written parts of sending against the references they replace:
the pipelined client's DATA section against the standard library's smtplib, the DKIM signer
against dkimpy. Kept hand-written for speed (bench-send): smtplib sends one command at a time,
dkimpy takes milliseconds per message."""

from __future__ import annotations

import smtplib

import dkim  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from sending.dkim import generate_key_pair, sign
from sending.tests.test_dkim import dns_for
from sending.transports.smtp_wire import wire_body

# Bodies made of what matters to the wire format: line ends of every kind, dots at line
# starts, spaces and tabs at line ends, eight-bit bytes, and other text.
BODY_PIECES = st.one_of(
    st.sampled_from([b"\r\n", b"\n", b"\r", b".", b"..", b" ", b"\t", b"\xc3\xa9", b"\xff"]),
    st.binary(max_size=6).filter(lambda b: b"\x00" not in b),
)
BODY = st.lists(BODY_PIECES, max_size=40).map(b"".join)


def smtplib_data_section(raw: bytes) -> bytes:
    """What smtplib.SMTP.data puts on the wire for `raw` (its public quotedata, on text)."""
    quoted = smtplib.quotedata(raw.decode("latin-1")).encode("latin-1")
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"


@settings(max_examples=500, deadline=None)
@given(raw=BODY)
def test_the_pipelined_clients_data_section_is_smtplibs(raw):
    assert wire_body(raw) == smtplib_data_section(raw)


KEY = generate_key_pair()
RECORD = "sel._domainkey.acme.example"
HEADER_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from(" \t"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip())
BODY_LINE = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from(" \t"),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    subject=HEADER_TEXT,
    lines=st.lists(BODY_LINE, max_size=8),
    trailing_empty=st.integers(min_value=0, max_value=3),
    spaced_from=st.booleans(),
)
def test_dkimpy_verifies_whatever_the_message(subject, lines, trailing_empty, spaced_from):
    head = (
        (b"From:   a@acme.example  \r\n" if spaced_from else b"From: a@acme.example\r\n")
        + b"To: b@example.test\r\n"
        + b"Subject: "
        + subject.encode()
        + b"\r\n"
    )
    body = b"".join(line.encode() + b"\r\n" for line in lines) + b"\r\n" * trailing_empty
    signed = sign(
        head + b"\r\n" + body,
        domain="acme.example",
        selector="sel",
        private_key=KEY[0],
    )
    assert dkim.verify(signed, dnsfunc=dns_for(RECORD, KEY[1]))


# Lines of blanks, tabs and words: the runs the relaxed body form compresses.
BODY_WORDS = st.lists(
    st.sampled_from([b" ", b"  ", b"\t", b" \t ", b"word", b"\xc3\xa9", b"x"]), max_size=12
).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(BODY_WORDS, max_size=10))
def test_the_relaxed_body_form_is_dkimpys(lines):
    """On bodies as the wire carries them (CRLF-ended lines), the signer's fast relaxed form is
    dkimpy's, byte for byte."""
    from dkim.canonicalization import Relaxed  # type: ignore[import-untyped]

    from sending.dkim import relaxed_body

    body = b"".join(line + b"\r\n" for line in lines)
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)
