from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.keys.models import ApiKey
from accounts.keys.services import key_hash
from accounts.models import Membership, Role, Workspace
from core.compiled import Compiled


def _creator_role() -> Subquery:
    """The key's creator's current role in the key's workspace (None once they left it)."""
    return Subquery(
        Membership.objects.filter(
            workspace_id=OuterRef("workspace_id"), user_id=OuterRef("created_by_id")
        )
        .order_by()  # one membership per user and workspace: nothing to sort
        .values("role")[:1]
    )


def api_keys(workspace: Workspace) -> QuerySet[ApiKey]:
    """The workspace's keys, each with `creator_role` (see api_key_role)."""
    return (
        ApiKey.objects.filter(workspace=workspace)
        .select_related("created_by")
        .annotate(creator_role=_creator_role())
    )


def api_key_get(workspace: Workspace, key_id: int) -> ApiKey | None:
    return api_keys(workspace).filter(pk=key_id).first()


def api_key_by_raw(raw: str) -> ApiKey | None:
    """The active key with this secret, with `creator_role`: its creator's current role in the
    key's workspace (None once the creator left it)."""
    return _BY_HASH.first(key_hash=key_hash(raw))


# The hash is unique: at most one row, so no ORDER BY (resolving the models' orderings was a
# tenth of every API request's own time). Every API call with a key asks it: compiled once
# (core.compiled).
_BY_HASH = Compiled(
    lambda key_hash: (
        ApiKey.objects.select_related("workspace", "created_by")
        .annotate(creator_role=_creator_role())
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .order_by()[:1]
    ),
    key_hash="\x00 a key hash's place",
)


def api_key_role(api_key: ApiKey) -> str | None:
    """What a key may do: its own role, but never more than its creator's role now in the
    workspace; None when the creator is no longer a member (the key stops working)."""
    creator_role: str | None = getattr(api_key, "creator_role", None)
    if creator_role is None:
        return None
    return min(api_key.role, creator_role, key=Role.rank)
