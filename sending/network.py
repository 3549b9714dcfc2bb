"""Where Postroom may connect: public addresses only, unless SENDING_ALLOW_PRIVATE_HOSTS.

Users type host names (SMTP servers, OAuth token endpoints); without this check a user could
make the server connect to its own loopback, the private network or a cloud metadata service.
The check resolves the name once and the connection goes to an address that passed it, so a
second, different DNS answer (rebinding) cannot redirect it. A refusal names only the host the
user gave: what an internal name resolves to is not the user's business.

Ports are checked too, because a public host may run more than mail: an SMTP account connects
only to mail ports (25, 465, 587, 2525 and SENDING_SMTP_PORTS), a webhook only to 80 and 443
(and WEBHOOK_PORTS). Where private hosts are allowed (development, tests) any port is.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import threading
from collections.abc import Collection

from django.conf import settings

from sending.classify import PrivateAddressRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
log = logging.getLogger(__name__)

MAIL_PORTS = (25, 465, 587, 2525)
WEB_PORTS = (80, 443)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


def address_allowed(address: IPAddress) -> bool:
    """True for a public unicast address; false for loopback, private, link-local, CGNAT,
    metadata, unspecified, multicast and reserved ones, IPv4-mapped IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return False
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def private_hosts_allowed() -> bool:
    return bool(settings.SENDING_ALLOW_PRIVATE_HOSTS)


def host_refusal(host: str) -> str | None:
    """Why Postroom will never connect to `host`, when that is known without DNS: an address
    literal that is not public, or a name of this machine. None otherwise; names are checked
    again at every connection (resolve_checked), which is the real guard."""
    if private_hosts_allowed() or not host.strip():
        return None
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host} is this machine: Postroom does not connect to it."
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return None
    if address_allowed(address):
        return None
    return f"{host} is a loopback, private or reserved address: Postroom does not connect to it."


def smtp_ports() -> frozenset[int]:
    """The ports an SMTP account may use: the mail ports and SENDING_SMTP_PORTS."""
    return frozenset(MAIL_PORTS) | frozenset(settings.SENDING_SMTP_PORTS)


def web_ports() -> frozenset[int]:
    """The ports a webhook may use: 80, 443 and WEBHOOK_PORTS."""
    return frozenset(WEB_PORTS) | frozenset(settings.WEBHOOK_PORTS)


def port_refusal(port: int, allowed: Collection[int]) -> str | None:
    """Why Postroom will not connect to `port`, or None (always None where private hosts are
    allowed, so that development and tests may use any port)."""
    if private_hosts_allowed() or port in allowed:
        return None
    ports = ", ".join(str(p) for p in sorted(allowed))
    return f"Port {port} is not allowed: use one of {ports}."


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses of `host` that Postroom may connect to, in the resolver's order.

    Raises socket.gaierror when the name does not resolve and PrivateAddressRefused when no
    address is allowed.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if private_hosts_allowed():
        return addresses
    allowed = [a for a in addresses if address_allowed(ipaddress.ip_address(a.split("%")[0]))]
    if not allowed:
        # The addresses go to the log for the operator, never into the message, which the
        # user sees: it would tell them what internal names resolve to.
        log.info("refused %s: it resolves only to %s", host, ", ".join(addresses))
        raise PrivateAddressRefused(f"Private address refused: {host} is not allowed")
    return allowed


def connect_checked(
    host: str, port: int, timeout: float, *, ports: Collection[int] | None = None
) -> socket.socket:
    """A TCP connection to the first allowed address of `host` that answers.

    With `ports`, a port outside them is refused too (PrivateAddressRefused), before any
    connection.
    """
    addresses = resolve_checked(host, port)
    refused = port_refusal(port, ports) if ports is not None else None
    if refused:
        raise PrivateAddressRefused(f"Port refused: {refused}")
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last = exc
    assert last is not None  # noqa: S101 - resolve_checked returns at least one address
    raise last


_TLS_LOCK = threading.Lock()
_TLS_CONTEXTS: dict[tuple[str, int], ssl.SSLContext] = {}


def tls_context() -> ssl.SSLContext:
    """The system's trusted CAs, plus SENDING_EXTRA_CA_FILE when set. Always verifying.

    Made once per extra CA file (and version of it) and shared: loading the system's CAs
    costs tens of milliseconds, which every new SMTP connection, mailbox poll and token
    request paid. A context is safe to share between threads; callers never change it, and a
    context a library did change (urllib3 turns name checks off when asked to match names
    itself) is made anew rather than handed on.
    """
    extra = str(settings.SENDING_EXTRA_CA_FILE or "")
    try:
        version = os.stat(extra).st_mtime_ns if extra else 0
    except OSError:
        version = -1  # missing: loading it says so, every time
    key = (extra, version)
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(key)
        weakened = context is not None and (
            not context.check_hostname or context.verify_mode != ssl.CERT_REQUIRED
        )
        if weakened:
            log.error("the shared TLS context was changed to verify less; it is made anew")
        if context is None or version == -1 or weakened:
            context = ssl.create_default_context()
            if extra:
                context.load_verify_locations(cafile=extra)
            _TLS_CONTEXTS.clear()
            _TLS_CONTEXTS[key] = context
        return context
