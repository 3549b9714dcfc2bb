"""Writes for API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.audit import services as audit
from accounts.keys.models import ApiKey
from accounts.models import Role, User, Workspace

KEY_PREFIX = "pr_"


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw: str  # shown to the user once, never stored


@transaction.atomic
def api_key_create(*, workspace: Workspace, name: str, role: str, created_by: User) -> IssuedKey:
    """Create a key for a workspace; the raw key is returned once and only its hash is kept."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name.strip() or "API key",
        role=role,
        prefix=raw[:10],
        key_hash=key_hash(raw),
        created_by=created_by,
    )
    audit.record("api_key.created", workspace=workspace, target=api_key, role=role)
    return IssuedKey(api_key=api_key, raw=raw)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit.record("api_key.revoked", workspace=api_key.workspace, target=api_key)
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use at most once a minute, so that busy keys do not write on every request."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
