"""Writing the audit log, and forgetting what is older than AUDIT_LOG_DAYS."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from accounts.audit.context import current_request
from accounts.audit.models import AuditEntry, Via
from accounts.models import User, Workspace
from core.client_ip import client_ip

logger = logging.getLogger("postroom.audit")

# Every action the log knows, with the words the log page shows for it.
ACTIONS: dict[str, str] = {
    "user.signed_in": "Signed in",
    "user.sign_in_failed": "Sign-in failed",
    "user.signed_out": "Signed out",
    "user.password_changed": "Password changed",
    "user.two_factor_enabled": "Two-factor sign-in turned on",
    "user.two_factor_disabled": "Two-factor sign-in turned off",
    "user.recovery_codes_made": "Recovery codes made",
    "user.recovery_code_used": "Recovery code used",
    "user.two_factor_locked": "Two-factor codes blocked after wrong codes",
    "user.session_ended": "Session ended",
    "user.sessions_ended": "Other sessions ended",
    "workspace.two_factor_required": "Two-factor sign-in required or not",
    "workspace.changed": "Workspace settings changed",
    "user.blocked": "User blocked",
    "user.unblocked": "User unblocked",
    "member.invited": "Member invited",
    "member.invitation_revoked": "Invitation revoked",
    "member.joined": "Member joined",
    "member.role_changed": "Member's role changed",
    "member.removed": "Member removed",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "workspace.sending_stopped": "Sending stopped by a manager",
    "workspace.sending_resumed": "Sending resumed by a manager",
    "campaign.status_changed": "Campaign state changed",
    "account.created": "Sending account created",
    "account.changed": "Sending account changed",
    "account.deleted": "Sending account deleted",
    "account.tested": "Sending account tested",
    "dkim.key_made": "DKIM key made",
    "dkim.key_deleted": "DKIM key deleted",
    "template.created": "Template created",
    "template.changed": "Template changed",
    "template.deleted": "Template deleted",
    "list.deleted": "List deleted",
    "segment.created": "Segment created",
    "segment.changed": "Segment changed",
    "segment.deleted": "Segment deleted",
    "custom_field.deleted": "Custom field deleted",
    "campaign.deleted": "Campaign deleted",
    "signup_form.deleted": "Sign-up form deleted",
    "webhook.endpoint_deleted": "Webhook endpoint deleted",
    "import.started": "Import started",
    "export.downloaded": "Export downloaded",
    "suppression.removed": "Suppression removed",
    "privacy.exported": "Personal data exported",
    "privacy.erased": "Personal data erased",
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


def purge(*, now: datetime) -> int:
    """Forget entries older than AUDIT_LOG_DAYS (the housekeeping duty calls it daily)."""
    days: int = settings.AUDIT_LOG_DAYS
    deleted, _ = AuditEntry.objects.filter(created_at__lt=now - timedelta(days=days)).delete()
    return deleted
