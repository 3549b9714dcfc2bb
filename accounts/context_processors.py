"""What every page's layout needs: the workspace, the role, the nav section. The switcher's
workspaces and the other per-user facts of the sidebar come from postroom.layout."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.middleware import WorkspaceAccess
from accounts.models import Role, User

# URL namespace (or url name) -> the navigation entry it belongs to.
NAV_SECTIONS = {
    "dashboard": "dashboard",
    "audience": "recipients",
    "content": "templates",
    "campaigns": "campaigns",
    "campaigns:logs": "logs",
    "campaigns:calendar": "calendar",
    "campaigns:reschedule": "calendar",
    "sending": "sending",
    "accounts": "settings",
    "platform": "platform",
    "platform_campaigns": "platform",
    "tracking:campaign_report": "campaigns",
    "tracking:recipient_timeline": "recipients",
    **{
        f"automation:{page}": "sequences"
        for page in (
            "sequences",
            "sequence_create",
            "sequence",
            "sequence_edit",
            "step_create",
            "step_edit",
        )
    },
    **{
        f"tracking:mailbox_{page}": "feedback"
        for page in ("index", "create", "detail", "edit", "delete", "test")
    },
}


def _nav_section(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return ""
    return NAV_SECTIONS.get(match.view_name) or NAV_SECTIONS.get(match.namespace, "")


def workspace(request: HttpRequest) -> dict[str, Any]:
    # No user on a request refused before the authentication middleware (400.html, e.g. for
    # a host name not in ALLOWED_HOSTS): the page then shows no workspace.
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    access: WorkspaceAccess | None = getattr(request, "access", None)
    return {
        "current_workspace": access.workspace if access else None,
        "current_role": access.role if access else "",
        "can_edit": bool(access and not access.manager_view and access.allows(Role.EDITOR)),
        "is_owner": bool(access and not access.manager_view and access.allows(Role.OWNER)),
        "manager_view": bool(access and access.manager_view),
        "nav_section": _nav_section(request),
    }
