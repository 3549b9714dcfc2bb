"""Which URLs an endpoint may have: the sending accounts' address rules, plus https.

The host is resolved and every address checked with `sending.network.resolve_checked` (no
loopback, private, link-local or metadata address unless SENDING_ALLOW_PRIVATE_HOSTS): when
the endpoint is saved, so the user hears at once, and again before every request, which then
goes to an address that passed, so a DNS answer changed in between (rebinding) cannot aim it
elsewhere. Plain http only where private hosts are allowed or in development (DEBUG). Ports
80 and 443 only, plus WEBHOOK_PORTS, unless private hosts are allowed.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from sending.classify import PrivateAddressRefused
from sending.network import port_refusal, private_hosts_allowed, resolve_checked, web_ports


class UrlRefused(ValueError):
    """The URL may not be used; the message says why, in words fit for the user."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def plain_http_allowed() -> bool:
    return bool(settings.DEBUG) or private_hosts_allowed()


def parse(url: str) -> Target:
    """The URL's parts, or UrlRefused for a scheme, form or credentials we do not accept."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(_("Give an https:// URL."))
    if parts.username or parts.password:
        raise UrlRefused(
            _("Put no user name or password in the URL: receivers check the signature instead.")
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(_("The URL's port is not a number between 1 and 65535.")) from exc
    if not parts.hostname:
        raise UrlRefused(_("The URL has no host name."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    default = 443 if parts.scheme == "https" else 80
    return Target(scheme=parts.scheme, host=parts.hostname, port=port or default, path=path)


def resolve(target: Target) -> list[str]:
    """The addresses the request may go to, checked; UrlRefused when there are none."""
    try:
        addresses = resolve_checked(target.host, target.port)
    except PrivateAddressRefused as exc:
        raise UrlRefused(f"{exc}.") from exc
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(
            _("The host name %(host)s does not resolve.") % {"host": target.host}
        ) from exc
    if target.scheme != "https" and not plain_http_allowed():
        raise UrlRefused(_("Use https://: requests carry your data and must be encrypted."))
    refused = port_refusal(target.port, web_ports())
    if refused:
        raise UrlRefused(refused)
    return addresses


def check(url: str) -> list[str]:
    """Parse and resolve: the checks of both save time and send time."""
    return resolve(parse(url))
