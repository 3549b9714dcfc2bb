"""The unsubscribe, view and preference links of test sends: they work, but unsubscribe nobody.

A test is not a delivery, so it has no delivery token. Its links carry a token signed for
tests only (template and address, with a salt of their own), which the tracking app serves
with pages that say what the real link would do; a test token can never name a delivery, so
clicking it, or a mail provider's one-click POST to it, cannot unsubscribe a real person.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "postroom.sending.test-link"
MAX_AGE_SECONDS = 30 * 24 * 3600  # a test mail is read soon; its links need not live for ever


@dataclass(frozen=True)
class SentTest:
    template_id: int
    address: str


def token_for_test(template_id: int, address: str) -> str:
    return signing.dumps([template_id, address], salt=_SALT, compress=True)


def link_of(token: str) -> SentTest | None:
    """What a test token names, or None for a forged, mangled or expired one."""
    try:
        template_id, address = signing.loads(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return SentTest(int(template_id), str(address))


def _site_url() -> str:
    # As campaigns.links.site_url, which this layer may not import.
    return settings.SITE_URL or f"http://127.0.0.1:{settings.POSTROOM_PORT}"


def links_for_test(template_id: int, address: str) -> dict[str, str]:
    """The link placeholders of a test message."""
    token = token_for_test(template_id, address)
    return {
        "unsubscribe_url": _site_url() + reverse("tracking:test_unsubscribe", args=[token]),
        "view_in_browser_url": _site_url() + reverse("tracking:test_view", args=[token]),
        "preferences_url": _site_url() + reverse("preferences:test", args=[token]),
    }
