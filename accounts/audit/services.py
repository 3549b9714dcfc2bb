"""Writing the audit log, and forgetting what is older than AUDIT_LOG_DAYS."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_noop

from accounts.audit.context import current_request
from accounts.audit.models import AuditEntry, Via
from accounts.models import User, Workspace
from core.client_ip import client_ip
from core.erasure import Scrubber, scrub_rows

logger = logging.getLogger("postroom.audit")

# Every action the log knows, with the words the log page shows for it (translated there; the
# stored identifiers, the CSV and the API keep the keys).
ACTIONS: dict[str, str] = {
    "user.signed_in": gettext_noop("Signed in"),
    "user.sign_in_failed": gettext_noop("Sign-in failed"),
    "user.signed_out": gettext_noop("Signed out"),
    "user.password_changed": gettext_noop("Password changed"),
    "user.two_factor_enabled": gettext_noop("Two-factor sign-in turned on"),
    "user.two_factor_disabled": gettext_noop("Two-factor sign-in turned off"),
    "user.recovery_codes_made": gettext_noop("Recovery codes made"),
    "user.recovery_code_used": gettext_noop("Recovery code used"),
    "user.two_factor_locked": gettext_noop("Two-factor codes blocked after wrong codes"),
    "user.session_ended": gettext_noop("Session ended"),
    "user.sessions_ended": gettext_noop("Other sessions ended"),
    "workspace.two_factor_required": gettext_noop("Two-factor sign-in required or not"),
    "workspace.changed": gettext_noop("Workspace settings changed"),
    "workspace.archive_key_rotated": gettext_noop("Public archive given a new address"),
    "user.blocked": gettext_noop("User blocked"),
    "user.unblocked": gettext_noop("User unblocked"),
    "member.invited": gettext_noop("Member invited"),
    "member.invitation_revoked": gettext_noop("Invitation revoked"),
    "member.joined": gettext_noop("Member joined"),
    "member.role_changed": gettext_noop("Member's role changed"),
    "member.removed": gettext_noop("Member removed"),
    "api_key.created": gettext_noop("API key created"),
    "api_key.revoked": gettext_noop("API key revoked"),
    "workspace.sending_stopped": gettext_noop("Sending stopped by a manager"),
    "workspace.sending_resumed": gettext_noop("Sending resumed by a manager"),
    "campaign.status_changed": gettext_noop("Campaign state changed"),
    "campaign.disabled": gettext_noop("Campaign disabled by a manager"),
    "campaign.enabled": gettext_noop("Campaign enabled by a manager"),
    "account.created": gettext_noop("Sending account created"),
    "account.changed": gettext_noop("Sending account changed"),
    "account.deleted": gettext_noop("Sending account deleted"),
    "account.tested": gettext_noop("Sending account tested"),
    "dkim.key_made": gettext_noop("DKIM key made"),
    "dkim.key_deleted": gettext_noop("DKIM key deleted"),
    "template.created": gettext_noop("Template created"),
    "template.changed": gettext_noop("Template changed"),
    "template.deleted": gettext_noop("Template deleted"),
    "image.added": gettext_noop("Image added to the library"),
    "image.deleted": gettext_noop("Image deleted from the library"),
    "list.created": gettext_noop("List created"),
    "list.changed": gettext_noop("List changed"),
    "list.deleted": gettext_noop("List deleted"),
    "segment.created": gettext_noop("Segment created"),
    "segment.changed": gettext_noop("Segment changed"),
    "segment.deleted": gettext_noop("Segment deleted"),
    "custom_field.created": gettext_noop("Custom field created"),
    "custom_field.changed": gettext_noop("Custom field changed"),
    "custom_field.deleted": gettext_noop("Custom field deleted"),
    "campaign.deleted": gettext_noop("Campaign deleted"),
    "signup_form.created": gettext_noop("Sign-up form created"),
    "signup_form.changed": gettext_noop("Sign-up form changed"),
    "signup_form.deleted": gettext_noop("Sign-up form deleted"),
    "webhook.endpoint_created": gettext_noop("Webhook endpoint created"),
    "webhook.endpoint_changed": gettext_noop("Webhook endpoint changed"),
    "webhook.secret_rotated": gettext_noop("Webhook signing secret replaced"),
    "webhook.endpoint_deleted": gettext_noop("Webhook endpoint deleted"),
    "import.started": gettext_noop("Import started"),
    "export.downloaded": gettext_noop("Export downloaded"),
    "suppression.removed": gettext_noop("Suppression removed"),
    "privacy.exported": gettext_noop("Personal data exported"),
    "privacy.erased": gettext_noop("Personal data erased"),
}


def _actor(request: HttpRequest | None) -> tuple[User | None, str, str, str | None]:
    """The user, their address, the way in, and the client's IP of the request, if any."""
    if request is None:
        return None, "", Via.SYSTEM, None
    user = getattr(request, "user", None)
    via = Via.API if request.path.startswith("/api/") else Via.WEB
    ip = client_ip(request) or None
    if isinstance(user, User) and user.is_authenticated:
        return user, user.email, via, ip
    return None, "", via, ip


def in_request() -> bool:
    """Whether a request is being served (a person or a script acts), not a worker."""
    return current_request.get() is not None


def record(
    action: str,
    *,
    workspace: Workspace | None = None,
    target: models.Model | None = None,
    target_label: str = "",
    actor: User | None = None,
    actor_email: str = "",
    **detail: Any,
) -> AuditEntry:
    """Add one entry. `actor` overrides the request's user (a sign-in names who signed in);
    `detail` must never hold a secret or a message body."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    user, email, via, ip = _actor(current_request.get())
    if actor is not None:
        user, email = actor, actor.email
    entry = AuditEntry.objects.create(
        workspace=workspace,
        actor=user,
        actor_email=actor_email or email,
        via=via,
        ip=ip,
        action=action,
        target_type=target._meta.model_name or "" if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        detail=detail,
    )
    logger.info("audit %s", action, extra={"audit_action": action, "audit_id": entry.pk})
    return entry


def person_erase(*, workspace: Workspace, email: str) -> int:
    """Cut an erased person's address out of the workspace's entries (a privacy export is
    labelled with it); how many changed. The one change ever made to an entry: the action,
    who did it and when stay, and a person erased is not kept in the log that proves it."""
    return scrub_rows(
        AuditEntry.objects.filter(workspace=workspace),
        Scrubber(email),
        text=("target_label",),
        json=("detail",),
    )


def purge(*, now: datetime) -> int:
    """Forget entries older than AUDIT_LOG_DAYS (the housekeeping duty calls it daily)."""
    days: int = settings.AUDIT_LOG_DAYS
    deleted, _ = AuditEntry.objects.filter(created_at__lt=now - timedelta(days=days)).delete()
    return deleted
