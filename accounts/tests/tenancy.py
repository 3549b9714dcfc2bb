"""Objects of a foreign workspace for the tenancy walker (postroom/tests/test_tenancy.py).

Each app's `tests/tenancy.py` maps the URL keyword arguments its routes take to a function
that creates an object of that kind in the foreign workspace and returns the value to put in
the URL. The walker fails on a keyword argument that no app provides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import Invitation, Membership, Role, UserSession
from accounts.services import invitation_create

Provider = Callable[[Any], Any]


def _membership(foreign: Any) -> int:
    return Membership.objects.get(workspace=foreign.workspace, user=foreign.owner).pk


def _invitation(foreign: Any) -> int:
    issued = invitation_create(
        workspace=foreign.workspace,
        email="foreignmark-invitee@example.test",
        role=Role.EDITOR,
        invited_by=foreign.owner,
        base_url="http://testserver",
    )
    invitation: Invitation = issued.invitation
    return invitation.pk


def _session(foreign: Any) -> int:
    # Sessions are the user's, not a workspace's: another user's answers 404 the same way.
    row = UserSession.objects.create(
        user=foreign.owner, session_key="foreignmark-session", user_agent="foreignmark"
    )
    return row.pk


PROVIDERS: dict[str, Provider] = {
    "session_id": _session,
    "membership_id": _membership,
    "invitation_id": _invitation,
    "workspace_id": lambda foreign: foreign.workspace.pk,
    "user_id": lambda foreign: foreign.owner.pk,
}
