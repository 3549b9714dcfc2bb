from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Workspace
from api.models import ApiKey
from api.services import key_hash


def api_keys(workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by")


def api_key_get(workspace: Workspace, key_id: int) -> ApiKey | None:
    return api_keys(workspace).filter(pk=key_id).first()


def api_key_by_raw(raw: str) -> ApiKey | None:
    """The active key with this secret, whose workspace and creator may still act."""
    return (
        ApiKey.objects.select_related("workspace", "created_by")
        .filter(key_hash=key_hash(raw), revoked_at__isnull=True)
        .first()
    )
