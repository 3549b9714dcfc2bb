"""Checks of a sending domain's SPF, DKIM and DMARC records.

Lookups go through a `Resolver`: dnspython by default, a fake in tests (`default_resolver` is
what views and commands use; tests replace it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.translation import gettext as _

from sending.models import DkimKey


class Resolver(Protocol):
    def txt(self, name: str) -> list[str]:
        """The TXT strings at `name` (each record's parts joined); [] when there are none.

        Raises DnsError when the lookup itself failed (timeout, no server).
        """


class DnsError(Exception):
    pass


class DnsPythonResolver:
    def __init__(self, timeout: float | None = None) -> None:
        self._resolver = dns.resolver.Resolver()
        self._timeout = float(timeout or settings.SENDING_TIMEOUT)

    def txt(self, name: str) -> list[str]:
        try:
            answer = self._resolver.resolve(name, "TXT", lifetime=self._timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DnsError(
                _("The DNS lookup of %(name)s failed: %(reason)s") % {"name": name, "reason": exc}
            ) from exc
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def default_resolver() -> Resolver:
    return DnsPythonResolver()


@dataclass(frozen=True)
class RecordCheck:
    name: str  # what was looked up
    ok: bool
    found: str  # the record found, or ""
    message: str


@dataclass(frozen=True)
class DomainCheck:
    domain: str
    spf: RecordCheck
    dmarc: RecordCheck
    dkim: tuple[RecordCheck, ...]

    @property
    def ok(self) -> bool:
        return self.spf.ok and self.dmarc.ok and all(check.ok for check in self.dkim)


def check_domain(
    domain: str, *, keys: Iterable[DkimKey] = (), resolver: Resolver | None = None
) -> DomainCheck:
    """Look up SPF, DMARC and the DKIM record of each key; never raises for DNS trouble."""
    resolver = resolver or default_resolver()
    return DomainCheck(
        domain=domain,
        spf=_prefixed(resolver, domain, "v=spf1", "SPF"),
        dmarc=_prefixed(resolver, f"_dmarc.{domain}", "v=DMARC1", "DMARC"),
        dkim=tuple(_dkim(resolver, key) for key in keys),
    )


def _lookup(resolver: Resolver, name: str) -> list[str] | str:
    try:
        return resolver.txt(name)
    except DnsError as exc:
        return str(exc)


def _prefixed(resolver: Resolver, name: str, prefix: str, label: str) -> RecordCheck:
    records = _lookup(resolver, name)
    if isinstance(records, str):
        return RecordCheck(name, False, "", records)
    matching = [r for r in records if r.lower().startswith(prefix.lower())]
    if not matching:
        return RecordCheck(name, False, "", f"No {label} record ({prefix} …) at {name}")
    if len(matching) > 1:
        return RecordCheck(name, False, " | ".join(matching), f"More than one {label} record")
    return RecordCheck(name, True, matching[0], f"{label} record found")


def _dkim(resolver: Resolver, key: DkimKey) -> RecordCheck:
    name = key.record_name
    records = _lookup(resolver, name)
    if isinstance(records, str):
        return RecordCheck(name, False, "", records)
    for record in records:
        tags = {
            part.split("=", 1)[0].strip(): part.split("=", 1)[1].strip()
            for part in record.split(";")
            if "=" in part
        }
        if "".join(tags.get("p", "").split()) == key.public_key:
            return RecordCheck(name, True, record, "DKIM record matches the key")
    if records:
        return RecordCheck(name, False, records[0], "The DKIM record does not match this key")
    return RecordCheck(name, False, "", f"No DKIM record at {name}: publish the TXT record")
