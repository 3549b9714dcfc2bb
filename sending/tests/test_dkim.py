"""DKIM: keys, the record to publish, signatures that verify, and the DNS check."""

from __future__ import annotations

import dkim  # type: ignore[import-untyped]
import pytest

from sending import dns_check, services
from sending.dkim import DkimSigner, SigningKey, generate_key_pair, sign
from sending.dns_check import DnsError
from sending.models import AccountKind, CapturedMessage
from sending.tests.factories import SendingAccountFactory, rendered
from sending.transports.base import OutgoingMessage
from sending.transports.factory import transport_for

pytestmark = pytest.mark.django_db


def dns_for(record_name: str, public_key: str):
    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        if name.decode().rstrip(".") == record_name:
            return f"v=DKIM1; k=rsa; p={public_key}".encode()
        return None

    return dnsfunc


def test_a_signature_verifies_with_the_published_key():
    private, public = generate_key_pair()
    raw = rendered(from_email="news@acme.example").raw
    signed = sign(raw, domain="acme.example", selector="s2026", private_key=private)
    assert signed.startswith(b"DKIM-Signature:")
    assert dkim.verify(signed, dnsfunc=dns_for("s2026._domainkey.acme.example", public))


def test_the_signature_covers_the_unsubscribe_headers():
    private, _ = generate_key_pair()
    signed = sign(
        rendered(from_email="news@acme.example").raw,
        domain="acme.example",
        selector="s",
        private_key=private,
    )
    header = signed.split(b"\r\n\r\n")[0].decode()
    signed_names = header.split(" h=")[1].split(";")[0].replace("\r\n", "").replace(" ", "")
    assert set(signed_names.lower().split(":")) >= {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }


def test_a_tampered_message_fails_verification():
    private, public = generate_key_pair()
    signed = sign(
        rendered(from_email="news@acme.example").raw,
        domain="acme.example",
        selector="s",
        private_key=private,
    )
    tampered = signed.replace(b"Subject: Hello", b"Subject: Hijacked")
    assert not dkim.verify(tampered, dnsfunc=dns_for("s._domainkey.acme.example", public))


def test_the_signer_picks_the_key_of_the_from_domain_or_its_parent():
    signer = DkimSigner([SigningKey("acme.example", "s", "pem")])
    assert signer.key_for("a@acme.example") is not None
    assert signer.key_for("a@mail.acme.example") is not None
    assert signer.key_for("a@other.example") is None


def test_messages_from_a_domain_with_a_key_are_signed_on_the_way_out(personas):
    key = services.dkim_key_create(
        workspace=personas.workspace, domain="acme.example", selector="pr"
    )
    account = SendingAccountFactory.create(
        workspace=personas.workspace, kind=AccountKind.CAPTURE, from_email="news@acme.example"
    )
    message = OutgoingMessage.from_rendered(rendered(from_email="news@acme.example"))
    with transport_for(account) as transport:
        assert transport.send(message).ok
    raw = bytes(CapturedMessage.objects.get(account=account).raw)
    assert dkim.verify(raw, dnsfunc=dns_for(key.record_name, key.public_key))


def test_the_smtp_transport_signs_too(personas, smtp_sink):
    key = services.dkim_key_create(
        workspace=personas.workspace, domain="acme.example", selector="pr"
    )
    account = SendingAccountFactory.create(
        workspace=personas.workspace,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        from_email="news@acme.example",
    )
    with transport_for(account) as transport:
        transport.send(OutgoingMessage.from_rendered(rendered(from_email="news@acme.example")))
    [received] = smtp_sink.wait_for(1)
    assert dkim.verify(received.data, dnsfunc=dns_for(key.record_name, key.public_key))


def test_the_record_to_publish(personas):
    key = services.dkim_key_create(
        workspace=personas.workspace, domain="Acme.Example.", selector="pr"
    )
    assert key.domain == "acme.example"
    assert key.record_name == "pr._domainkey.acme.example"
    assert key.record_value.startswith("v=DKIM1; k=rsa; p=MII")


@pytest.mark.parametrize(
    ("domain", "selector"), [("not a domain", "s"), ("acme.example", "bad selector")]
)
def test_malformed_domains_and_selectors_are_refused(personas, domain, selector):
    with pytest.raises(services.SendingError):
        services.dkim_key_create(workspace=personas.workspace, domain=domain, selector=selector)


class FakeResolver:
    def __init__(
        self, records: dict[str, list[str]], failing: frozenset[str] = frozenset()
    ) -> None:
        self.records = records
        self.failing = failing

    def txt(self, name: str) -> list[str]:
        if name in self.failing:
            raise DnsError(f"The DNS lookup of {name} failed: timed out")
        return self.records.get(name, [])


def test_the_dns_check_finds_spf_dkim_and_dmarc(personas):
    key = services.dkim_key_create(
        workspace=personas.workspace, domain="acme.example", selector="pr"
    )
    resolver = FakeResolver(
        {
            "acme.example": ["google-site-verification=x", "v=spf1 include:_spf.example ~all"],
            "_dmarc.acme.example": ["v=DMARC1; p=quarantine"],
            key.record_name: [f"v=DKIM1; k=rsa; p={key.public_key}"],
        }
    )
    check = dns_check.check_domain("acme.example", keys=[key], resolver=resolver)
    assert check.ok
    assert check.spf.found == "v=spf1 include:_spf.example ~all"


def test_the_dns_check_says_what_is_missing_or_wrong(personas):
    key = services.dkim_key_create(
        workspace=personas.workspace, domain="acme.example", selector="pr"
    )
    resolver = FakeResolver(
        {
            "acme.example": ["v=spf1 a ~all", "v=spf1 mx ~all"],
            key.record_name: ["v=DKIM1; k=rsa; p=SOMETHINGELSE"],
        },
        failing=frozenset({"_dmarc.acme.example"}),
    )
    check = dns_check.check_domain("acme.example", keys=[key], resolver=resolver)
    assert not check.ok
    assert check.spf.message == "More than one SPF record"
    assert check.dkim[0].message == "The DKIM record does not match this key"
    assert "timed out" in check.dmarc.message
