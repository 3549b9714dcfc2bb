"""Foreign objects of tracking for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sending.models import AccountKind, EspProvider, SendingAccount
from tracking.models import BounceMailbox

Provider = Callable[[Any], Any]


def _esp_token(foreign: Any) -> str:
    """The real secret of another workspace's e-mail service account."""
    account = SendingAccount.objects.create(
        workspace=foreign.workspace,
        name="foreignmark esp",
        from_email="foreignmark@example.test",
        kind=AccountKind.ESP,
        esp_provider=EspProvider.POSTMARK,
        esp_webhook_token="foreignmark-secret",
    )
    return str(account.esp_webhook_token)


def _mailbox(foreign: Any) -> BounceMailbox:
    mailbox, _ = BounceMailbox.objects.get_or_create(
        workspace=foreign.workspace,
        name="foreignmark",
        defaults={"host": "imap.foreignmark.test", "username": "foreignmark"},
    )
    return mailbox


PROVIDERS: dict[str, Provider] = {
    "esp": lambda foreign: EspProvider.POSTMARK.value,
    "esp_token": _esp_token,
    "mailbox_id": lambda foreign: _mailbox(foreign).pk,
    # Not an id: the report's CSV part; a real one, so the 404 comes from the campaign.
    "part": lambda foreign: "summary",
}
