"""Foreign objects for the tenancy walker (see accounts/tests/tenancy.py)."""

from __future__ import annotations

from typing import Any

from accounts.models import Role
from api.services import api_key_create

PROVIDERS: dict[str, Any] = {
    "api_key_id": lambda foreign: (
        api_key_create(
            workspace=foreign.workspace,
            name="foreignmark key",
            role=Role.OWNER,
            created_by=foreign.owner,
        ).api_key.pk
    ),
}
