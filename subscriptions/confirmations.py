"""Sending the confirmation e-mails of pending sign-ups: a worker step, like the account error
notices, so that a public form answers at once and the same way whatever happens next (a slow
mail server, a suppressed address) and no request ever waits on SMTP.

Each message goes through the form's sending account (else the workspace's first active one)
by sending.services.send_tests: the path of a workspace's own single, immediate messages,
within the account's daily and the workspace's hourly limits. A failure is tried again a few
times with a growing pause; a sign-up that expires first is not sent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from content.rendering import TemplateParts, compile_template
from content.syntax import ContentError
from sending.models import AccountStatus, SendingAccount
from sending.services import SendingError, send_tests
from subscriptions.models import PendingSignup
from subscriptions.tokens import make_token

log = logging.getLogger(__name__)

PER_STEP = 20
MAX_ATTEMPTS = 5
RETRY = timedelta(minutes=2)
# While one worker sends a confirmation, no other takes it (nor after a crash, for this long).
LEASE = timedelta(minutes=10)


def run_confirmation_step() -> bool:
    """The worker step: send the due confirmations; True while more are waiting."""
    return confirmations_send_due(now=timezone.now())


def confirmations_send_due(*, now: datetime) -> bool:
    """Send at most PER_STEP due confirmation e-mails; True when there may be more."""
    due = list(
        PendingSignup.objects.filter(
            send_after__lte=now, confirmed_at__isnull=True, expires_at__gt=now
        )
        .order_by("send_after", "id")
        .values_list("pk", "send_after")[:PER_STEP]
    )
    for pk, send_after in due:
        # A conditional update is the claim: of two workers, one sends.
        claimed = PendingSignup.objects.filter(pk=pk, send_after=send_after).update(
            send_after=now + LEASE
        )
        if claimed:
            _send(PendingSignup.objects.select_related("form", "workspace").get(pk=pk), now)
    return len(due) == PER_STEP


def confirm_link(pending: PendingSignup) -> str:
    path = reverse("subscribe:confirm", kwargs={"token": make_token(pending.pk, pending.nonce)})
    return f"{pending.base_url}{path}"


def _account(pending: PendingSignup) -> SendingAccount | None:
    chosen = pending.form.sending_account
    if chosen is not None and chosen.status == AccountStatus.ACTIVE:
        return chosen
    return (
        SendingAccount.objects.filter(workspace=pending.workspace, status=AccountStatus.ACTIVE)
        .order_by("id")
        .first()
    )


def _send(pending: PendingSignup, now: datetime) -> None:
    account = _account(pending)
    if account is None:
        _failed(pending, now, "The workspace has no active sending account.")
        return
    form = pending.form
    values = {
        **{k: str(v) for k, v in pending.values.items()},
        "email": pending.email,
        "form_name": form.name,
        "confirm_url": confirm_link(pending),
    }
    try:
        compiled = compile_template(
            TemplateParts(subject=form.confirm_subject, text=form.confirm_text)
        )
        message = compiled.render(
            values,
            from_email=account.from_email,
            from_name=account.from_name,
            reply_to=account.reply_to,
            to=pending.email,
            extra_headers=(("Auto-Submitted", "auto-generated"),),
        )
        result = send_tests(account=account, messages=[message])[0]
    except (ContentError, SendingError) as exc:
        _failed(pending, now, str(exc))
        return
    if not result.ok:
        _failed(pending, now, result.reply or str(result.kind))
        return
    _done(pending, now)


@transaction.atomic
def _done(pending: PendingSignup, now: datetime) -> None:
    PendingSignup.objects.filter(pk=pending.pk).update(
        send_after=None, sent_at=now, send_attempts=pending.send_attempts + 1, last_error=""
    )


@transaction.atomic
def _failed(pending: PendingSignup, now: datetime, error: str) -> None:
    attempts = pending.send_attempts + 1
    later = None if attempts >= MAX_ATTEMPTS else now + RETRY * 2 ** (attempts - 1)
    if later is None:
        log.warning("gave up the confirmation e-mail of sign-up %s: %s", pending.pk, error)
    PendingSignup.objects.filter(pk=pending.pk).update(
        send_after=later, send_attempts=attempts, last_error=error[:500]
    )
