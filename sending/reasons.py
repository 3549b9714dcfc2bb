"""Fixed words that start an account's status reason, and their translation for pages.

A reason is written by the engine (no request, no language) as one of these English
sentences followed by the service's own words; pages translate the sentence for the reader
and keep the service's words as they came.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

# A service refuses the From address or its domain: every message from it would be refused.
SENDER_REFUSED = gettext_noop(
    "The service does not accept this From address: verify the sender or its domain with "
    "the service"
)
# A service refuses the account's credentials (its API key or token).
CREDENTIALS_REFUSED = gettext_noop("The service refused the credentials")

FIXED = (SENDER_REFUSED, CREDENTIALS_REFUSED)


def translated(reason: str) -> str:
    """`reason` with its fixed opening sentence in the active language."""
    for fixed in FIXED:
        if reason.startswith(fixed):
            return gettext(fixed) + reason[len(fixed) :]
    return reason
