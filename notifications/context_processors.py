"""The bell's count of unread notifications, on every page of a workspace (one query)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.middleware import WorkspaceAccess
from accounts.models import User
from notifications.selectors import unread_count


def bell(request: HttpRequest) -> dict[str, Any]:
    access: WorkspaceAccess | None = getattr(request, "access", None)
    user = getattr(request, "user", None)
    if access is None or not isinstance(user, User):
        return {}
    workspace = access.workspace
    # Counted when the layout shows the bell, not for a fragment (htmx) that does not.
    return {"notifications_unread": SimpleLazyObject(lambda: unread_count(workspace, user))}
