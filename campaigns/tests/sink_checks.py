"""What the SMTP test server received, checked against what the engine recorded.

After any injected failure these must hold: each message went to the person it was written
for (envelope recipient = `To:` = the name in its text = the delivery its Message-ID and its
unsubscribe token name), no body carries SMTP commands (a pipeline written into another
message's DATA), and every delivery recorded `sent` is at the server with its Message-ID.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from email.utils import parseaddr

from campaigns import links
from campaigns.models import Delivery, DeliveryStatus
from core.testing.smtp import CapturedMessage

# A line of the body that is an SMTP command: what a desynchronised pipeline leaves behind.
SMTP_COMMAND = re.compile(rb"^(MAIL FROM:|RCPT TO:|DATA\r?$|RSET\r?$|QUIT\r?$)", re.M | re.I)
MESSAGE_ID = re.compile(r"<(\d+)\.(\d+)\.[0-9a-f]+@")
UNSUBSCRIBE = re.compile(r"/u/([^/\s>]+)/?")


def delivery_of_message(message: CapturedMessage) -> int | None:
    """The delivery id a message's Message-ID names; None when it has none of ours."""
    found = MESSAGE_ID.search(message.message_id or "")
    return int(found.group(2)) if found else None


def check_messages(
    messages: Iterable[CapturedMessage],
    emails: dict[int, str],
    first_names: dict[str, str] | None = None,
) -> list[str]:
    """Every way the messages break the rules above, as sentences (an empty list: none).

    `emails`: each delivery's address by id; `first_names`: the name the text must greet
    each address with (make_campaign's "Dear NameN"), when known.
    """
    problems: list[str] = []
    for message in messages:
        rcpt = message.rcpt_tos[0] if len(message.rcpt_tos) == 1 else repr(message.rcpt_tos)
        if SMTP_COMMAND.search(message.data):
            problems.append(f"{rcpt}: the body carries SMTP commands")
        to = parseaddr(message.header("To") or "")[1]
        if to != rcpt:
            problems.append(f"{rcpt}: To: is {to!r}")
        delivery = delivery_of_message(message)
        if delivery is None:
            problems.append(f"{rcpt}: no Message-ID of ours ({message.data[:120]!r})")
        elif emails.get(delivery) != rcpt:
            problems.append(f"{rcpt}: its Message-ID is delivery {delivery}'s")
        token = UNSUBSCRIBE.search(message.header("List-Unsubscribe") or "")
        if token is None or links.delivery_of(token.group(1)) != delivery:
            problems.append(f"{rcpt}: its unsubscribe link is not its own")
        name = (first_names or {}).get(rcpt)
        if name is not None and f"Dear {name} of" not in (message.text or ""):
            problems.append(f"{rcpt}: its text does not greet {name}")
    return problems


def check_sent_are_received(
    messages: Iterable[CapturedMessage], sent: Iterable[tuple[str, str]] | None = None
) -> list[str]:
    """Deliveries recorded `sent` that the server does not have, with their Message-ID.
    `sent`: (email, Message-ID) of each; by default read from the test database."""
    received = {(m.rcpt_tos[0], m.message_id) for m in messages}
    if sent is None:
        rows = Delivery.objects.filter(status=DeliveryStatus.SENT)
        sent = rows.values_list("email", "message_id")
    return [
        f"{email} recorded sent, not received"
        for email, mid in sent
        if (email, mid) not in received
    ]


def duplicates(messages: Iterable[CapturedMessage]) -> tuple[int, list[str]]:
    """How many messages arrived more than once, and the addresses whose copies do not all
    carry the same Message-ID."""
    copies = Counter(m.rcpt_tos[0] for m in messages)
    ids: dict[str, set[str | None]] = {}
    for m in messages:
        ids.setdefault(m.rcpt_tos[0], set()).add(m.message_id)
    return sum(n - 1 for n in copies.values()), [a for a, found in ids.items() if len(found) > 1]
