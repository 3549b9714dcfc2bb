"""The in-app notice of accounts in error, on every page of the workspace.

Derived from the accounts themselves (one indexed query), so it shows exactly while an
account is in error and goes away once a test puts it back to work: nothing to dismiss that
could hide a problem that is still there.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.middleware import WorkspaceAccess
from sending.selectors import accounts_in_error


def account_alerts(request: HttpRequest) -> dict[str, Any]:
    access: WorkspaceAccess | None = getattr(request, "access", None)
    if access is None or not request.user.is_authenticated:
        return {}
    workspace = access.workspace
    # Read when the layout shows it, not for a fragment (htmx) that does not extend it.
    return {"accounts_in_error": SimpleLazyObject(lambda: list(accounts_in_error(workspace)))}
