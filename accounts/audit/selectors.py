"""Reading the audit log: a workspace's entries for its owners, every entry for managers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import date

from django.db.models import QuerySet

from accounts.audit.models import AuditEntry
from accounts.audit.services import ACTIONS
from accounts.models import Workspace

CSV_COLUMNS = ("time", "actor", "via", "ip", "action", "target", "target_id", "detail")


def entries(workspace: Workspace | None, params: Mapping[str, str]) -> QuerySet[AuditEntry]:
    """Newest first, filtered by `action`, `actor` (part of the address), `since`, `until`
    (dates). `workspace` None is every entry (platform managers)."""
    qs = (
        AuditEntry.objects.all()
        if workspace is None
        else AuditEntry.objects.filter(workspace=workspace)
    )
    action = params.get("action", "")
    if action in ACTIONS:
        qs = qs.filter(action=action)
    actor = params.get("actor", "").strip()
    if actor:
        qs = qs.filter(actor_email__icontains=actor)
    for name, lookup in (("since", "created_at__date__gte"), ("until", "created_at__date__lte")):
        with contextlib.suppress(ValueError):  # no date, or not one: no bound
            qs = qs.filter(**{lookup: date.fromisoformat(params.get(name, ""))})
    return qs.select_related("workspace").order_by("-created_at", "-id")


def csv_rows(qs: QuerySet[AuditEntry]) -> Iterator[list[str]]:
    """The header, then the entries a row each (read in chunks); core.spreadsheet writes them
    with a byte order mark and neutralises cells a spreadsheet would run as a formula (a typed
    address may begin with = or +)."""
    yield list(CSV_COLUMNS)
    for entry in qs.iterator(chunk_size=2000):
        yield [
            entry.created_at.isoformat(),
            entry.actor_email,
            entry.via,
            entry.ip or "",
            entry.action,
            entry.target_label,
            entry.target_id,
            str(entry.detail) if entry.detail else "",
        ]
