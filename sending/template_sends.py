"""Test sends of a template: render it as each address's recipient (or with sample data) and
send it through one account, within that account's limits, up to ten addresses at a time."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Workspace
from audience.models import Recipient
from audience.selectors import custom_fields, placeholder_names, recipient_values
from content.models import Template
from content.rendering import compile_template, sample_values
from sending.models import SendingAccount
from sending.services import send_tests
from sending.testlinks import links_for_test


@dataclass(frozen=True)
class TestSendResult:
    address: str
    ok: bool
    words: str
    as_recipient: bool  # rendered with that recipient's own values, not sample data


def values_for_test(
    address: str, person: Recipient | None, keys: list[str], samples: dict[str, str]
) -> dict[str, str]:
    """The values a test to `address` is rendered with: its recipient's, else sample data."""
    return recipient_values(person, keys) if person else {**samples, "email": address}


def template_test_send(
    *, workspace: Workspace, template: Template, account: SendingAccount, addresses: list[str]
) -> list[TestSendResult]:
    """Send one personalised test per address, over one connection; never raises for a
    server's answer. Tests count against the account's limits (see send_tests); their
    unsubscribe and view links work but unsubscribe nobody (see sending.testlinks).

    Raises ContentError when the template cannot be rendered at all, and SendingError when the
    limits leave no room for every test; nothing is sent then.
    """
    keys = list(custom_fields(workspace).values_list("key", flat=True))
    people = {
        r.email: r
        for r in Recipient.objects.filter(
            workspace=workspace, email__in=[a.lower() for a in addresses]
        )
    }
    samples = sample_values(placeholder_names(workspace))
    compiled = compile_template(template)
    rendered = []
    for address in addresses:
        values = values_for_test(address, people.get(address.lower()), keys, samples)
        values |= links_for_test(template.pk, address)
        rendered.append(
            compiled.render(
                values,
                from_email=account.from_email,
                from_name=account.from_name,
                reply_to=account.reply_to,
                to=address,
                # As a campaign's, so that the test shows how mail clients offer it.
                extra_headers=(
                    ("List-Unsubscribe", f"<{values['unsubscribe_url']}>"),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ),
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
