"""Which opens and clicks were made by programs, not people (pure: no database, no clock).

Reports count people; these rules mark the rest `machine=True` when the hit is recorded.
They err towards "person" where a rule could hit real readers, and say why for each.

Opens by a machine:
- Apple Mail Privacy Protection fetches every image of a message through Apple's proxies
  when the message arrives, whether or not anyone reads it. Its requests say only
  `Mozilla/5.0` as user agent and come from Apple's network (below).
- Other prefetchers and caches: known agents (below).
- Any open within seconds of sending: no one reads that fast; a proxy fetching on arrival does.
  (Gmail's image proxy fetches when the person opens, so it counts as a person.)

Clicks by a machine (security scanners at the receiving end follow every link on arrival):
- known scanner agents and programs' agents (below);
- a click within seconds of sending with no open before it;
- a click on another link of the same message within two seconds of the last one
  (people do not click two links of a message that fast; scanners click them all at once).
  The first click of such a burst is recorded before the next one shows it was a scanner, and
  events are never changed afterwards: it stays counted as a person unless another rule
  caught it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

SECONDS_TO_READ = 10.0  # an open or first click this soon after sending is a program's
BURST_SECONDS = 2.0  # two links of one message clicked this close together: a scanner

# Networks whose hits are prefetches, as data with its source.
PREFETCH_NETWORKS: tuple[tuple[str, str], ...] = (
    # Apple Inc.'s own allocation (ARIN NET-17-0-0-0-1); Mail Privacy Protection's image
    # proxies answer from it (Apple, "About Mail Privacy Protection", and ESPs' MPP notes).
    ("17.0.0.0/8", "ARIN whois NET-17-0-0-0-1, Apple Inc."),
)

# The whole user agent Apple's MPP proxy sends.
MPP_AGENTS = frozenset({"mozilla/5.0"})

# Substrings (lower case) of agents that fetch images without a person.
PREFETCH_AGENT_PARTS = (
    "yahoomailproxy",  # Yahoo's prefetching image cache
    "bot",
    "spider",
    "crawler",
    "preview",  # link and image previewers
)

# Substrings (lower case) of agents of link scanners and programs.
SCANNER_AGENT_PARTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "trendmicro",
    "symantec",
    "forcepoint",
    "headlesschrome",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "curl/",
    "wget/",
    "java/",
    "okhttp",
    "libwww-perl",
    "bot",
    "spider",
    "crawler",
    "preview",
)


@dataclass(frozen=True)
class Hit:
    """What is known of one open or click when it arrives."""

    user_agent: str
    ip: str
    seconds_since_sent: float | None  # None when the delivery's sending time is not known
    opened_before: bool = False  # clicks: an open of the message was recorded before
    seconds_since_other_click: float | None = None  # clicks: the last click on another link


@lru_cache(maxsize=1)
def _networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network) for network, _source in PREFETCH_NETWORKS)


@lru_cache(maxsize=4096)  # the same proxies come back again and again; parsing is slow
def _in_prefetch_network(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _networks())


def _too_soon(hit: Hit) -> bool:
    return hit.seconds_since_sent is not None and hit.seconds_since_sent < SECONDS_TO_READ


def open_is_machine(hit: Hit) -> bool:
    agent = hit.user_agent.strip().lower()
    if agent in MPP_AGENTS or not agent:
        return True
    if any(part in agent for part in PREFETCH_AGENT_PARTS):
        return True
    return _in_prefetch_network(hit.ip) or _too_soon(hit)


def click_is_machine(hit: Hit) -> bool:
    agent = hit.user_agent.strip().lower()
    if not agent or any(part in agent for part in SCANNER_AGENT_PARTS):
        return True
    if _too_soon(hit) and not hit.opened_before:
        return True
    return hit.seconds_since_other_click is not None and (
        hit.seconds_since_other_click < BURST_SECONDS
    )
