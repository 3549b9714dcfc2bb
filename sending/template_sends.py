"""Test sends of a template: render it as each address's recipient (or with sample data) and
send it through one account, within that account's limits, up to ten addresses at a time."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Workspace
from audience.models import Recipient
from audience.selectors import custom_fields, placeholder_names, recipient_values
from content.models import Template
from content.rendering import render_message, sample_values
from sending.models import SendingAccount
from sending.services import send_tests


@dataclass(frozen=True)
class TestSendResult:
    address: str
    ok: bool
    words: str
    as_recipient: bool  # rendered with that recipient's own values, not sample data


def template_test_send(
    *, workspace: Workspace, template: Template, account: SendingAccount, addresses: list[str]
) -> list[TestSendResult]:
    """Send one personalised test per address, over one connection; never raises for a
    server's answer. Tests take no room from the account's limits (see send_tests).

    Raises ContentError when the template cannot be rendered at all (nothing is sent then).
    """
    keys = list(custom_fields(workspace).values_list("key", flat=True))
    people = {
        r.email: r
        for r in Recipient.objects.filter(
            workspace=workspace, email__in=[a.lower() for a in addresses]
        )
    }
    samples = sample_values(placeholder_names(workspace))
    rendered = []
    for address in addresses:
        person = people.get(address.lower())
        values = recipient_values(person, keys) if person else {**samples, "email": address}
        rendered.append(
            render_message(
                template,
                values,
                from_email=account.from_email,
                from_name=account.from_name,
                reply_to=account.reply_to,
                to=address,
            )
        )
    outcomes = send_tests(account=account, messages=rendered)
    return [
        TestSendResult(
            address,
            outcome.ok,
            "sent" if outcome.ok else outcome.reply or str(outcome.kind),
            address.lower() in people,
        )
        for address, outcome in zip(addresses, outcomes, strict=True)
    ]
