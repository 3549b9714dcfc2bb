"""Reading per-delivery return paths (VERP) and our Message-IDs back from what returned.

The token and the return path themselves are made in `campaigns.verp` (the engine writes
them); this module finds which delivery a returned message is about.
"""

from __future__ import annotations

import hmac
import re

from campaigns import links
from campaigns.verp import (
    DEFAULT_PREFIX,
    MAX_LOCAL_PART,
    SALT,
    delivery_of,
    delivery_of_address,
    return_path,
    token_for,
)
from tracking.feedback.parse import Feedback

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_LOCAL_PART",
    "SALT",
    "delivery_of",
    "delivery_of_address",
    "delivery_of_feedback",
    "delivery_of_message_id",
    "return_path",
    "token_for",
]

_MESSAGE_ID = re.compile(r"<?(\d{1,19})\.(\d{1,19})\.([0-9a-f]{12})@([^<>\s@]+)>?")


def delivery_of_message_id(message_id: str) -> int | None:
    """The delivery whose message carried this Message-ID (as `campaigns.links.message_id_for`
    makes them), or None for one Postroom did not make: the match for a bounce that returns our
    headers but came without a token."""
    found = _MESSAGE_ID.fullmatch(message_id.strip())
    if found is None:
        return None
    campaign_id, delivery_id, _, domain = found.groups()
    expected = links.message_id_for(int(delivery_id), int(campaign_id), domain)
    if not hmac.compare_digest(expected, f"<{found.group(0).strip('<>')}>"):
        return None
    return int(delivery_id)


def delivery_of_feedback(feedback: Feedback) -> int | None:
    """The delivery a returned message is about: by its VERP token first, then by a Message-ID
    of ours that it returns or answers (In-Reply-To, References). None when neither is ours:
    never a guess from the address alone.
    """
    if feedback.verp_token:
        found = delivery_of(feedback.verp_token)
        if found is not None:
            return found
    for message_id in (feedback.message_id, *feedback.in_reply_to):
        if message_id:
            found = delivery_of_message_id(message_id)
            if found is not None:
                return found
    return None
