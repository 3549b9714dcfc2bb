"""The round trip through a provider's OAuth2 consent page: the `state` that goes out and
comes back. Shared by the pages of sending accounts and of bounce mailboxes (tracking).

The state is signed, names what is being connected (an account, a mailbox: `purpose` and its
id), expires, and is tied to this browser's session by a nonce that is used once: an answer
forged, replayed or meant for another session is refused.
"""

from __future__ import annotations

import secrets

from django.core import signing
from django.http import HttpRequest

STATE_MAX_AGE = 15 * 60


def consent_state(request: HttpRequest, *, purpose: str, target: int) -> str:
    """The state to send to the provider for connecting `target` (a `purpose` id)."""
    nonce = secrets.token_urlsafe(16)
    request.session[f"{purpose}.oauth-nonce"] = nonce
    return signing.dumps({"target": target, "nonce": nonce}, salt=f"{purpose}.oauth-consent")


def consent_target(request: HttpRequest, *, purpose: str) -> int | None:
    """The id the provider's answer is for, or None when its state is expired, forged,
    used already or not of this session. Scope the id to the workspace before use."""
    try:
        state = signing.loads(
            request.GET.get("state", ""),
            salt=f"{purpose}.oauth-consent",
            max_age=STATE_MAX_AGE,
        )
    except signing.BadSignature:
        state = None
    nonce = request.session.pop(f"{purpose}.oauth-nonce", None)
    if not isinstance(state, dict) or not nonce or state.get("nonce") != nonce:
        return None
    target = state.get("target")
    return target if isinstance(target, int) else None


def provider_refusal(request: HttpRequest) -> str:
    """Why the provider sent no code (the owner refused, ...), in its words."""
    refusal = request.GET.get("error_description") or request.GET.get("error") or "no code"
    return refusal[:200]
