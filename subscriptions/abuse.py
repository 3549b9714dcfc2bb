"""What keeps robots and floods away from public sign-up forms: a honeypot field, counters per
client address and per e-mail address, and an optional proof-of-work challenge (ALTCHA,
verified here, with no third party involved).

The counters live in the cache (Redis in production, shared by every process): a fixed window
per key, so that a flood costs one `incr` a request and nothing in the database.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import altcha
from django.conf import settings
from django.core.cache import cache

# The hidden field robots fill in; people never see it. Named like a field a form might have.
HONEYPOT_FIELD = "website"
CHALLENGE_FIELD = "altcha"
_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Limited:
    """Too many sign-ups: `what` says whose, `wait` how many seconds until the next."""

    what: str
    wait: int


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/min' -> (10, 60). Raises ValueError for anything else."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def _spend(scope: str, ident: str, rate: str, now: float) -> int | None:
    """Count one use in the current window; None while under the rate, else the wait."""
    limit, period = parse_rate(rate)
    window = int(now // period)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]  # no address kept in the cache
    key = f"signup:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=period + 5)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr: this is the first use again
        cache.set(key, 1, timeout=period + 5)
        used = 1
    if used <= limit:
        return None
    return max(1, int((window + 1) * period - now))


def check_client(ip: str, *, now: float | None = None) -> Limited | None:
    """Count a sign-up from this client address (SIGNUP_IP_RATE)."""
    wait = _spend("ip", ip, settings.SIGNUP_IP_RATE, now if now is not None else time.time())
    return Limited("address", wait) if wait is not None else None


def check_address(workspace_id: int, email: str, *, now: float | None = None) -> Limited | None:
    """Count a sign-up of this e-mail address in this workspace (SIGNUP_ADDRESS_RATE): nobody
    can flood a person's mailbox with confirmation requests."""
    wait = _spend(
        "email",
        f"{workspace_id}:{email}",
        settings.SIGNUP_ADDRESS_RATE,
        now if now is not None else time.time(),
    )
    return Limited("email", wait) if wait is not None else None


def caught_by_honeypot(data: Mapping[str, str]) -> bool:
    return bool(str(data.get(HONEYPOT_FIELD, "")).strip())


# --- ALTCHA -----------------------------------------------------------------------------------


def _secret() -> str:
    return hashlib.sha256(b"postroom.altcha:" + settings.SECRET_KEY.encode()).hexdigest()


def challenge(form_key: str) -> dict[str, object]:
    """A fresh challenge for the widget, valid ALTCHA_MAX_AGE seconds, bound to one form."""
    made = altcha.create_challenge(
        algorithm=settings.ALTCHA_ALGORITHM,
        cost=settings.ALTCHA_COST,
        expires_at=datetime.now(tz=UTC) + timedelta(seconds=settings.ALTCHA_MAX_AGE),
        data={"form": form_key},
        hmac_secret=_secret(),
    )
    return made.to_dict()


def solution_accepted(form_key: str, payload: str) -> bool:
    """Whether `payload` solves a challenge made for this form, unexpired and not used before
    (a solved challenge is good for one sign-up)."""
    if not payload or len(payload) > 10_000:
        return False
    try:
        result = altcha.verify_solution(payload, _secret())
        parsed = altcha.Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError):
        return False
    if not result.verified or (parsed.challenge.parameters.data or {}).get("form") != form_key:
        return False
    used = f"signup:altcha:{hashlib.sha256(payload.encode()).hexdigest()}"
    return bool(cache.add(used, 1, timeout=settings.ALTCHA_MAX_AGE + 60))
