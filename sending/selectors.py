"""Reads for sending. Every selector takes the workspace first and stays inside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.parser import BytesParser

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from accounts.models import Workspace
from core import reasons
from core.crypto import EncryptedTextField
from sending import quota, warmup
from sending.models import AccountStatus, CapturedMessage, DkimKey, SendingAccount

SECRET_COLUMNS = (
    "smtp_password",
    "oauth_client_secret",
    "oauth_refresh_token",
    "oauth_access_token",
    "esp_api_key",
)
# Every encrypted column: what a read that shows or counts accounts leaves out (.defer), so
# that nothing is decrypted for it.
ENCRYPTED_COLUMNS = tuple(
    f.name for f in SendingAccount._meta.concrete_fields if isinstance(f, EncryptedTextField)
)


def accounts(workspace: Workspace) -> QuerySet[SendingAccount]:
    return SendingAccount.objects.filter(workspace=workspace)


def account_get(workspace: Workspace, account_id: int) -> SendingAccount | None:
    return accounts(workspace).filter(pk=account_id).first()


def accounts_in_error(workspace: Workspace) -> QuerySet[SendingAccount]:
    """The accounts that stopped sending until someone fixes them (index workspace, status);
    their secrets are not read."""
    return (
        accounts(workspace)
        .filter(status=AccountStatus.ERROR)
        .only("pk", "workspace_id", "name", "from_email", "status_reason", "status_changed_at")
        .order_by("name", "id")
    )


def accounts_for_api(workspace: Workspace) -> QuerySet[SendingAccount]:
    """Accounts without their secrets, each with `has_<secret>` flags: nothing is decrypted."""
    flags = {
        f"has_{name}": ExpressionWrapper(~Q(**{name: ""}), output_field=BooleanField())
        for name in SECRET_COLUMNS
    }
    return accounts(workspace).defer(*SECRET_COLUMNS).annotate(**flags)


def active_accounts(workspace: Workspace) -> QuerySet[SendingAccount]:
    return accounts(workspace).filter(status=AccountStatus.ACTIVE)


def account_rows(workspace: Workspace, now: datetime) -> list[tuple[SendingAccount, int, int]]:
    """Each account with its count for the workspace's current local day (0 after midnight)
    and its limit for that day (the warm-up value while it warms up)."""
    day = quota.local_day(workspace, now)
    rows = accounts(workspace).defer(*ENCRYPTED_COLUMNS)  # a list needs no decryption
    return [(account, account.sent_on(day), warmup.day_limit(account, day)) for account in rows]


@dataclass(frozen=True)
class WarmupState:
    """What the account page and the API show of a warm-up."""

    today: int  # the day's limit
    curve: list[warmup.CurveDay]  # today and the next days
    days_to_target: int | None  # None: held (or never)
    held_since: date | None
    hold_reason: str


def warmup_state(
    workspace: Workspace, account: SendingAccount, now: datetime
) -> WarmupState | None:
    """The account's warm-up as of the workspace's local day; None when it is not warming up."""
    if not warmup.is_warming(account):
        return None
    day = quota.local_day(workspace, now)
    return WarmupState(
        today=warmup.day_limit(account, day),
        curve=warmup.curve(account, day),
        days_to_target=warmup.days_to_target(account, day),
        held_since=account.warmup_held_since,
        hold_reason=reasons.shown(account.warmup_hold_reason, account.warmup_hold_detail),
    )


def limit_today(workspace: Workspace, account: SendingAccount, now: datetime) -> int:
    return warmup.day_limit(account, quota.local_day(workspace, now))


def sent_today(workspace: Workspace, account: SendingAccount, now: datetime) -> int:
    return account.sent_on(quota.local_day(workspace, now))


def hour_used(workspace: Workspace, now: datetime) -> int:
    """Messages the workspace sent in the rolling hour up to `now`."""
    return quota.hour_used(workspace, now)


def captured_messages(workspace: Workspace) -> QuerySet[CapturedMessage]:
    return CapturedMessage.objects.filter(workspace=workspace).select_related("account")


def captured_get(workspace: Workspace, captured_id: int) -> CapturedMessage | None:
    return captured_messages(workspace).filter(pk=captured_id).first()


def captured_parts(
    captured: CapturedMessage,
) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """A captured message's header fields, HTML body and text body (None when absent)."""
    message = BytesParser(policy=policy.default).parsebytes(bytes(captured.raw))
    headers = [(name, str(value)) for name, value in message.items()]
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    return (
        headers,
        html.get_content() if html is not None else None,
        text.get_content() if text is not None else None,
    )


def dkim_keys(workspace: Workspace) -> QuerySet[DkimKey]:
    return DkimKey.objects.filter(workspace=workspace)


def dkim_key_get(workspace: Workspace, dkim_key_id: int) -> DkimKey | None:
    return dkim_keys(workspace).filter(pk=dkim_key_id).first()


def accounts_for_command(*, account_id: int | None, email: str | None) -> list[SendingAccount]:
    """For the operator's command line, across workspaces: by id, by address, or all active."""
    rows = SendingAccount.objects.select_related("workspace").order_by("pk")
    if account_id is not None:
        return list(rows.filter(pk=account_id))
    if email:
        return list(rows.filter(from_email__iexact=email.strip()))
    return list(rows.filter(status=AccountStatus.ACTIVE))
