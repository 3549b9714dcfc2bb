"""The client's address, for rate limits and the sign-in lockout.

X-Forwarded-For is written by whoever sends the request, so it is believed only as far as
TRUSTED_PROXIES reach: when the connection comes from a trusted proxy, the header is read from
the right (the entry the nearest proxy added) past every trusted proxy, and the first address
that is not one is the client. With no trusted proxy (the default) the header is ignored and the
client is the connection's address. django-axes and the API's throttles both call this, so one
setting decides for both.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks (an address alone is a network of one)."""
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request: Any) -> str:
    """The address of the client behind `request` (an HttpRequest or a DRF Request)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if not networks:
        return remote

    def trusted(address: Address | None) -> bool:
        return address is not None and any(address in network for network in networks)

    if not trusted(_address(remote)):
        return remote  # a direct connection: whatever it says of itself is not believed
    client = remote
    for hop in reversed(str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")):
        address = _address(hop)
        if address is None:
            break  # not an address: keep the last one a trusted proxy vouched for
        client = str(address)
        if not trusted(address):
            break
    return client
