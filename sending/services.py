"""Writes for sending: accounts, their status and tests, one-off sends, DKIM keys.

Network work (testing an account, sending) never runs inside a database transaction: a slow
server must not hold locks. Those services write their outcome in short transactions of their
own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import services as audit
from accounts.models import Workspace
from accounts.services import workspace_room_changed
from content.message import RenderedMessage
from core import reasons
from core.reasons import Reason
from sending import dkim, oauth, quota
from sending.models import (
    OAUTH_PRESETS,
    PRESETS,
    AccountKind,
    AccountStatus,
    AccountStatusChange,
    DkimKey,
    SendingAccount,
)
from sending.transports.base import OutgoingMessage, SendKind, SendResult, TransportError
from sending.transports.factory import transport_for

SECRET_FIELDS = ("smtp_password", "oauth_client_secret", "oauth_refresh_token", "esp_api_key")
# Written by the engine and the tests of an account, never by its form.
ENGINE_FIELDS = (
    "status",
    "status_reason",
    "status_changed_at",
    "last_tested_at",
    "sent_today",
    "sent_day",
    "last_sent_at",
    "oauth_access_token",
    "oauth_access_token_expires_at",
    "warmup_started_on",
    "warmup_held_days",
    "warmup_held_since",
    "warmup_hold_reason",
    "warmup_hold_detail",
    "day_closed_on",
    "day_closed_after",
)


class SendingError(Exception):
    """A write was refused; the message says why, for the user."""


# --- Accounts -------------------------------------------------------------------------------


@transaction.atomic
def workspace_initialize(*, workspace: Workspace) -> None:
    """Give a new workspace a local capture account, active, so it can send at once."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "postroom@localhost"
    SendingAccount.objects.create(
        workspace=workspace,
        name="Local capture",
        from_email=address,
        from_name=workspace.name,
        kind=AccountKind.CAPTURE,
        status=AccountStatus.ACTIVE,
        status_changed_at=timezone.now(),
        # Nothing leaves the machine: the seed's 30 a day would only get in the way of trials.
        daily_limit=1000,
        min_interval_seconds=0,
    )


def _apply_preset(account: SendingAccount) -> None:
    """Mailbox presets and OAuth2 providers fix host, port and security; capture and APIs
    need no SMTP settings."""
    preset = PRESETS.get(account.kind)
    if account.kind == AccountKind.OAUTH2:
        oauth = OAUTH_PRESETS.get(account.oauth_provider)
        preset = oauth[:3] if oauth else None
    if preset is not None:
        account.smtp_host, account.smtp_port, account.smtp_security = preset


@transaction.atomic
def account_create(*, workspace: Workspace, data: dict[str, Any]) -> SendingAccount:
    """A new account from form data; pending until a test succeeds (capture: active)."""
    account = SendingAccount(workspace=workspace)
    _assign(account, data, keep_empty_secrets=False)
    _apply_preset(account)
    if account.kind == AccountKind.CAPTURE:
        account.status = AccountStatus.ACTIVE
    account.status_changed_at = timezone.now()
    _warmup_begin_or_end(account, None, account.status_changed_at)
    account.full_clean(exclude=["workspace"])
    account.save()
    audit.record("account.created", workspace=workspace, target=account, kind=account.kind)
    return account


@transaction.atomic
def account_update(*, account: SendingAccount, data: dict[str, Any]) -> SendingAccount:
    """Change an account. Empty secret fields keep the stored secret (secrets are write-only).

    A change of the connection's identity (kind, host, user, secrets) sends a working account
    back to pending: it must be tested again.
    """
    # From the database, locked: a validated form has already changed `account` in memory,
    # and what the engine writes meanwhile (status, counters, tokens) must not be undone by
    # saving an old copy.
    stored = SendingAccount.objects.select_for_update().get(pk=account.pk)
    before = _connection_identity(stored)
    for name in ENGINE_FIELDS:
        if name not in data:
            setattr(account, name, getattr(stored, name))
    _assign(account, data, keep_empty_secrets=True)
    _apply_preset(account)
    if (
        _connection_identity(account) != before
        and account.status == AccountStatus.ACTIVE
        and account.kind != AccountKind.CAPTURE
    ):
        account.status = AccountStatus.PENDING
        account.status_reason = "The connection changed: test the account to use it again."
        account.status_changed_at = timezone.now()
    now = timezone.now()
    _warmup_begin_or_end(account, stored, now)
    account.full_clean(exclude=["workspace"])
    account.save()
    # The names of what changed, never a value (secrets among them).
    changed = sorted(name for name in data if getattr(stored, name) != getattr(account, name))
    audit.record("account.changed", workspace=account.workspace, target=account, fields=changed)
    _record_change(account, stored.status, now)
    if quota.room_may_come_sooner(stored, account, quota.local_day(account.workspace, now)):
        workspace_room_changed(workspace_id=account.workspace_id, now=now)
    return account


def _warmup_begin_or_end(
    account: SendingAccount, stored: SendingAccount | None, now: datetime
) -> None:
    """A warm-up given a start value begins today (day 1 sends the start value); one whose
    start value is emptied ends (the daily limit applies at once). Changing the start or
    the increase of a running warm-up keeps its days: the curve is recomputed."""
    was_warming = stored is not None and stored.warmup_start is not None
    if account.warmup_start is None:
        account.warmup_started_on = None
    elif not was_warming or account.warmup_started_on is None:
        account.warmup_started_on = quota.local_day(account.workspace, now)
    else:
        return
    account.warmup_held_days = 0
    account.warmup_held_since = None
    account.warmup_hold_reason, account.warmup_hold_detail = "", None


@transaction.atomic
def account_warmup_hold(*, account_id: int, reason: str | Reason, now: datetime) -> bool:
    """Hold an account's warm-up ramp: from today its day limit stays at today's value.

    For the feedback rules, when the account's bounce or complaint rate passes its
    threshold. True if it was held now; an account not warming up, or already held, is left
    as it is (one conditional UPDATE, so two events at once hold it once).
    """
    account = SendingAccount.objects.select_related("workspace").filter(pk=account_id).first()
    if account is None:
        return False
    text, detail = reasons.stored(reason)
    held = SendingAccount.objects.filter(
        pk=account_id,
        warmup_start__isnull=False,
        warmup_started_on__isnull=False,
        warmup_held_since__isnull=True,
    ).update(
        warmup_held_since=quota.local_day(account.workspace, now),
        warmup_hold_reason=text[:500],
        warmup_hold_detail=detail,
    )
    return held == 1


@transaction.atomic
def account_warmup_resume(*, account: SendingAccount, now: datetime) -> SendingAccount:
    """Let a held ramp go on: it rises again from tomorrow, from the value it held (the
    days held do not count). Raises SendingError when the ramp is not held."""
    stored = (
        SendingAccount.objects.select_for_update().select_related("workspace").get(pk=account.pk)
    )
    if stored.warmup_held_since is None:
        raise SendingError(_("The warm-up of this account is not held."))
    today = quota.local_day(stored.workspace, now)
    stored.warmup_held_days += max(0, (today - stored.warmup_held_since).days)
    stored.warmup_held_since = None
    stored.warmup_hold_reason, stored.warmup_hold_detail = "", None
    stored.save(
        update_fields=[
            "warmup_held_days",
            "warmup_held_since",
            "warmup_hold_reason",
            "warmup_hold_detail",
        ]
    )
    return stored


def _connection_identity(account: SendingAccount) -> tuple[object, ...]:
    return (
        account.kind,
        account.smtp_host,
        account.smtp_port,
        account.smtp_security,
        account.smtp_username,
        account.esp_provider,
        account.oauth_provider,
        *(getattr(account, name) for name in SECRET_FIELDS),
    )


def _assign(account: SendingAccount, data: dict[str, Any], *, keep_empty_secrets: bool) -> None:
    for name, value in data.items():
        if name in SECRET_FIELDS and keep_empty_secrets and not value:
            continue
        setattr(account, name, value)


@transaction.atomic
def account_delete(*, account: SendingAccount) -> None:
    audit.record("account.deleted", workspace=account.workspace, target=account)
    account.delete()


@transaction.atomic
def account_set_status(*, account: SendingAccount, status: str, reason: str = "") -> None:
    """Set the status (activate, deactivate); the reason is shown beside it.

    A real change is recorded (`AccountStatusChange`) in the same transaction: the owners are
    told when the account goes to error, and webhooks report it. Setting the status it
    already has records nothing, so two workers failing on one account tell the owners once.
    """
    now = timezone.now()
    previous = _locked_status(account)
    account.status = status
    account.status_reason = reason[:1000]
    account.status_changed_at = now
    account.save(update_fields=["status", "status_reason", "status_changed_at"])
    _record_change(account, previous, now)


def account_mark_error(*, account: SendingAccount, reason: str) -> None:
    """Put an account in error with the server's reply; it is skipped until a test succeeds.

    For the engine, after an authentication failure while sending. The workspace's owners
    are e-mailed and see it in the app; webhooks get `account.status_changed`.
    """
    account_set_status(account=account, status=AccountStatus.ERROR, reason=reason)


def _locked_status(account: SendingAccount) -> str:
    """The status in the database, the row locked until the transaction ends (the copy in
    memory may be old: the engine keeps accounts for a whole batch)."""
    row = SendingAccount.objects.select_for_update().filter(pk=account.pk)
    return row.values_list("status", flat=True).first() or account.status


def _record_change(account: SendingAccount, previous: str, now: datetime) -> None:
    if previous == account.status:
        return
    AccountStatusChange.objects.create(
        workspace_id=account.workspace_id,
        account=account,
        account_name=account.name,
        from_email=account.from_email,
        previous_status=previous,
        status=account.status,
        reason=account.status_reason,
        created_at=now,
    )


# --- Testing an account ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionTest:
    success: bool
    message: str
    account_fault: bool = False  # the account itself failed (credentials, server, TLS)


def account_test(*, account: SendingAccount, send_to: str | None = None) -> ConnectionTest:
    """Connect, authenticate and quit; with `send_to`, also send a short test message there.

    Sends nothing without `send_to`. A success makes a pending or failed account active; a
    failure of the account itself (refused password, unreachable server, TLS) puts it in
    error, a refusal of the test address does not. Never raises for a server's answer: the
    result says it in words.
    """
    if send_to:
        result = _send_test_message(account, send_to)
        outcome = ConnectionTest(
            result.ok, _test_words(account, result, sent_to=send_to), result.account_fault
        )
    else:
        outcome = _test_connection(account)
    _record_test(account, outcome)
    if audit.in_request():
        audit.record(
            "account.tested", workspace=account.workspace, target=account, ok=outcome.success
        )
    return outcome


def _test_connection(account: SendingAccount) -> ConnectionTest:
    if account.kind == AccountKind.CAPTURE:
        return ConnectionTest(True, f"Capture account ready for {account.from_email}")
    if account.kind == AccountKind.ESP:
        return ConnectionTest(
            True,
            f"Credentials saved for {account.from_email}; {account.get_esp_provider_display()} "
            "is reached only when a message is sent: send a test message to check them.",
        )
    transport = transport_for(account)
    try:
        transport.open()
    except TransportError as exc:
        return ConnectionTest(False, exc.result.reply, account_fault=True)
    transport.close()
    return ConnectionTest(True, f"SMTP connection successful for {account.from_email}")


def _test_words(account: SendingAccount, result: SendResult, *, sent_to: str) -> str:
    if result.ok:
        return f"Test message sent from {account.from_email} to {sent_to}"
    return result.reply


def _send_test_message(account: SendingAccount, send_to: str) -> SendResult:
    message = EmailMessage()
    message["From"] = formataddr((account.from_name, account.from_email))
    message["To"] = send_to
    message["Subject"] = "Postroom test message"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain=account.from_domain or None)
    message.set_content(f"This is a test of the sending account {account.name} in Postroom.\n")
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    outgoing = OutgoingMessage(
        envelope_from=account.from_email,
        recipients=(send_to,),
        raw=raw,
        message_id=str(message["Message-ID"]),
        from_email=account.from_email,
        subject=str(message["Subject"]),
        text=message.get_content(),
        headers=tuple((k, str(v)) for k, v in message.items()),
    )
    return _send(account, outgoing)


def _send(account: SendingAccount, message: OutgoingMessage) -> SendResult:
    """One message over a new connection; failures to connect come back as results."""
    transport = transport_for(account)
    try:
        return transport.send(message)
    finally:
        transport.close()


@transaction.atomic
def _record_test(account: SendingAccount, outcome: ConnectionTest) -> None:
    previous = _locked_status(account)
    account.status = previous
    account.last_tested_at = timezone.now()
    fields = ["last_tested_at"]
    if outcome.success and account.status in (AccountStatus.PENDING, AccountStatus.ERROR):
        account.status, account.status_reason = AccountStatus.ACTIVE, ""
        account.status_changed_at = account.last_tested_at
        fields += ["status", "status_reason", "status_changed_at"]
    elif outcome.account_fault and account.status != AccountStatus.INACTIVE:
        account.status, account.status_reason = AccountStatus.ERROR, outcome.message[:1000]
        account.status_changed_at = account.last_tested_at
        fields += ["status", "status_reason", "status_changed_at"]
    account.save(update_fields=fields)
    _record_change(account, previous, account.last_tested_at)


# --- OAuth2 consent ------------------------------------------------------------------------


def account_oauth_connect(*, account: SendingAccount, code: str, redirect_uri: str) -> None:
    """Store the tokens the provider grants for the consent page's `code`.

    The account then waits for a test (pending). Raises oauth.OAuthError when the provider
    refuses the code. The token request runs outside any transaction.
    """
    oauth.exchange_code(account, code=code, redirect_uri=redirect_uri, now=timezone.now())
    account_set_status(
        account=account,
        status=AccountStatus.PENDING,
        reason="Connected to the provider: test the account to start sending.",
    )


# --- One-off sends --------------------------------------------------------------------------


def send_one(*, account: SendingAccount, message: RenderedMessage) -> SendResult:
    """Send one rendered message now through `account`, within its limits.

    Takes room with `quota.reserve` (no room: a temporary result saying until when) and gives
    it back when nothing was sent. An authentication failure puts the account in error.
    Never raises for a server's answer.
    """
    reservation = quota.reserve(account, timezone.now())
    if isinstance(reservation, quota.NoRoom):
        when = f" until {reservation.until:%Y-%m-%d %H:%M:%S %Z}" if reservation.until else ""
        return SendResult(
            SendKind.TEMPORARY, f"No room on this account{when}: {reservation.reason}"
        )
    result = _send(account, OutgoingMessage.from_rendered(message))
    if not result.ok and result.kind != SendKind.AMBIGUOUS:
        quota.release(reservation)
    if result.kind == SendKind.AUTH:
        account_mark_error(account=account, reason=result.reply)
    return result


def send_tests(*, account: SendingAccount, messages: list[RenderedMessage]) -> list[SendResult]:
    """Send a person's test messages (at most a handful) over one connection, now.

    Tests are real mail: they take room from the account's daily limit and the workspace's
    hourly limit like campaign mail (room for those not accepted is given back), but do not
    wait for the minimum time between messages, since someone is waiting for them. Raises
    SendingError, sending nothing, when the limits leave no room for all of them. An
    authentication failure puts the account in error. Never raises for a server's answer.
    """
    room = quota.reserve_tests(account, timezone.now(), len(messages))
    if isinstance(room, quota.NoRoom):
        # The fixed reasons are in the catalog (quota.py); the others stay as they are.
        raise SendingError(_("No test was sent: %(reason)s.") % {"reason": _(room.reason)})
    results: list[SendResult] = []
    transport = transport_for(account)
    try:
        results = [transport.send(OutgoingMessage.from_rendered(m)) for m in messages]
    finally:
        transport.close()
        quota.release(room, len(messages) - sum(1 for r in results if r.ok))
    refused = next((r for r in results if r.kind == SendKind.AUTH), None)
    if refused is not None:
        account_mark_error(account=account, reason=refused.reply)
    return results


# --- DKIM -----------------------------------------------------------------------------------

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@transaction.atomic
def dkim_key_create(*, workspace: Workspace, domain: str, selector: str) -> DkimKey:
    """Generate an RSA 2048 key for `domain` under `selector`; the private key is encrypted.

    Raises SendingError for a malformed domain or selector, or a selector already in use.
    """
    domain = domain.strip().lower().rstrip(".")
    selector = selector.strip().lower()
    if not _DOMAIN.match(domain):
        raise SendingError(
            _("“%(domain)s” is not a domain name like example.com") % {"domain": domain}
        )
    if not _SELECTOR.match(selector):
        raise SendingError(_("A selector is letters, digits and hyphens, like postroom"))
    if DkimKey.objects.filter(workspace=workspace, domain=domain, selector=selector).exists():
        raise SendingError(
            _("%(domain)s already has a key with the selector %(selector)s")
            % {"domain": domain, "selector": selector}
        )
    private_key, public_key = dkim.generate_key_pair()
    key = DkimKey.objects.create(
        workspace=workspace,
        domain=domain,
        selector=selector,
        private_key=private_key,
        public_key=public_key,
    )
    audit.record("dkim.key_made", workspace=workspace, target=key, domain=domain, selector=selector)
    return key


@transaction.atomic
def dkim_key_delete(*, key: DkimKey) -> None:
    audit.record(
        "dkim.key_deleted", workspace=key.workspace, target=key, domain=key.domain,
        selector=key.selector,
    )  # fmt: skip
    key.delete()
