"""The fast DKIM signer: dkimpy verifies what it signs, whatever the message's shape."""

from __future__ import annotations

import time
from dataclasses import replace

import dkim  # type: ignore[import-untyped]
import pytest

from sending.dkim import DkimSigner, SigningKey, generate_key_pair, sign
from sending.tests.factories import SendingAccountFactory, rendered
from sending.tests.test_dkim import dns_for
from sending.transports.base import OutgoingMessage
from sending.transports.smtp_wire import WireSmtpTransport

KEY = generate_key_pair()


@pytest.fixture
def pipelining(smtp_sink):
    """The test sink, offering PIPELINING as real servers do."""
    smtp_sink.offer_pipelining()
    return smtp_sink


RECORD = "sel._domainkey.acme.example"

SHAPES = {
    "rendered": rendered(from_email="news@acme.example").raw,
    "trailing blanks and empty lines": (
        b"From: a@acme.example\r\nTo: b@example.test\r\nSubject: x\r\n\r\n"
        b"line  with \t runs   \r\n\r\nlast line \t\r\n\r\n\r\n"
    ),
    "empty body": b"From: a@acme.example\r\nTo: b@example.test\r\nSubject: x\r\n\r\n",
    "folded header and odd spacing": (
        b"From:   a@acme.example  \r\nTo: b@example.test\r\nSubject: a long\r\n\tfolded"
        b"   subject\r\n  that goes on\r\nMessage-ID: <1@acme.example>\r\n\r\nbody\r\n"
    ),
    "a header twice": (
        b"From: a@acme.example\r\nTo: b@example.test\r\nSubject: first\r\n"
        b"Subject: second\r\n\r\nbody\r\n"
    ),
    "eight bit, no final line end": (
        "From: a@acme.example\r\nTo: b@example.test\r\nSubject: Grüße\r\n\r\nGrüße".encode()
    ),
}


@pytest.mark.parametrize("raw", SHAPES.values(), ids=SHAPES.keys())
def test_dkimpy_verifies_the_signature(raw):
    signed = sign(raw, domain="acme.example", selector="sel", private_key=KEY[0])
    assert signed.endswith(raw)
    assert dkim.verify(signed, dnsfunc=dns_for(RECORD, KEY[1]))


def test_a_changed_body_or_header_fails():
    raw = SHAPES["rendered"]
    signed = sign(raw, domain="acme.example", selector="sel", private_key=KEY[0])
    assert not dkim.verify(signed + b"more\r\n", dnsfunc=dns_for(RECORD, KEY[1]))
    changed = signed.replace(b"To: reader@example.test", b"To: other@example.test")
    assert changed != signed
    assert not dkim.verify(changed, dnsfunc=dns_for(RECORD, KEY[1]))


def test_signing_costs_about_one_rsa_operation():
    """Measured against the RSA operation itself in the same loop: the signer adds little
    beyond the one signature it must make. Each is timed in this thread's CPU time and the
    least of 50 tries is compared, so that other processes on a busy machine (the other
    test pass of CI, say) slow neither: wall time summed over the loop measured the machine."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    raw = SHAPES["rendered"]
    key = serialization.load_pem_private_key(KEY[0].encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    sign(raw, domain="acme.example", selector="sel", private_key=KEY[0])  # loads the key
    signing: list[float] = []
    rsa_only: list[float] = []
    for _ in range(50):
        started = time.thread_time()
        sign(raw, domain="acme.example", selector="sel", private_key=KEY[0])
        signing.append(time.thread_time() - started)
        started = time.thread_time()
        key.sign(raw[:200], padding.PKCS1v15(), hashes.SHA256())
        rsa_only.append(time.thread_time() - started)
    ratio = min(signing) / min(rsa_only)
    assert ratio < 3, f"{ratio:.2f} RSA operations per message"


@pytest.mark.django_db
def test_messages_signed_on_the_pipelined_connection_verify_at_the_server(pipelining):
    account = SendingAccountFactory.create(
        smtp_host=pipelining.host, smtp_port=pipelining.port, from_email="news@acme.example"
    )
    signer = DkimSigner([SigningKey("acme.example", "sel", KEY[0])])
    transport = WireSmtpTransport(account, signer=signer)
    messages = [
        (
            i,
            OutgoingMessage.from_rendered(
                rendered(from_email="news@acme.example", to=f"r{i}@x.test")
            ),
        )
        for i in range(5)
    ]
    with transport:
        results = dict(transport.send_all(iter(messages), lambda: False))
    assert all(r is not None and r.ok for r in results.values())
    for received in pipelining.wait_for(5):
        assert received.data.startswith(b"DKIM-Signature:")
        assert dkim.verify(received.data, dnsfunc=dns_for(RECORD, KEY[1]))


def test_a_signed_message_keeps_what_is_known_of_its_line_ends():
    signer = DkimSigner([SigningKey("acme.example", "sel", KEY[0])])
    known = OutgoingMessage.from_rendered(rendered(from_email="news@acme.example"))
    unknown = replace(known, crlf=False)
    assert signer(known).crlf is True
    assert signer(unknown).crlf is False
    assert signer(known).raw.count(b"\n") == signer(known).raw.count(b"\r\n")
