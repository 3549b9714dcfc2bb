"""Objects of a foreign workspace for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from typing import Any

from accounts.audit.models import AuditEntry


def _entry(foreign: Any) -> int:
    entry = AuditEntry.objects.create(
        workspace=foreign.workspace,
        actor=foreign.owner,
        actor_email=foreign.owner.email,
        action="api_key.created",
        target_label="foreignmark key",
    )
    return entry.pk


PROVIDERS = {"audit_entry_id": _entry}
