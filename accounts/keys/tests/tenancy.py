"""Foreign objects for the tenancy walker (see accounts/tests/tenancy.py)."""

from __future__ import annotations

from typing import Any

from accounts.keys.services import api_key_create
from accounts.models import Role

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
