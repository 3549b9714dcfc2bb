"""Foreign objects of sending for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sending.models import AccountKind, CapturedMessage, DkimKey, SendingAccount

Provider = Callable[[Any], Any]


def _account(foreign: Any) -> int:
    account = SendingAccount.objects.create(
        workspace=foreign.workspace,
        name="foreignmark account",
        from_email="foreignmark@example.test",
        kind=AccountKind.CAPTURE,
        status="active",
    )
    return account.pk


def _captured(foreign: Any) -> int:
    captured = CapturedMessage.objects.create(
        workspace=foreign.workspace,
        envelope_from="foreignmark@example.test",
        recipients=["foreignmark-to@example.test"],
        subject="foreignmark subject",
        raw=b"Subject: foreignmark\r\n\r\nforeignmark\r\n",
    )
    return captured.pk


def _dkim_key(foreign: Any) -> int:
    key = DkimKey.objects.create(
        workspace=foreign.workspace,
        domain="foreignmark.example",
        selector="foreignmark",
        private_key="not-a-real-key",
        public_key="foreignmark",
    )
    return key.pk


PROVIDERS: dict[str, Provider] = {
    "account_id": _account,
    "captured_id": _captured,
    "dkim_key_id": _dkim_key,
}
