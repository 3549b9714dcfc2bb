"""Reads for the audience. Every selector takes the workspace first."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Workspace
from audience.models import LINK_PLACEHOLDERS, STANDARD_FIELDS, CustomField, Recipient


def custom_fields(workspace: Workspace) -> QuerySet[CustomField]:
    return CustomField.objects.filter(workspace=workspace)


def placeholder_names(workspace: Workspace) -> list[str]:
    """Every name a template of this workspace may use: standard fields, custom fields, links."""
    keys = list(custom_fields(workspace).values_list("key", flat=True))
    return [*STANDARD_FIELDS, *keys, *LINK_PLACEHOLDERS]


def recipient_values(recipient: Recipient, field_keys: list[str] | None = None) -> dict[str, str]:
    """A recipient's values as text, standard and custom fields alike (missing ones empty).

    `field_keys` are the workspace's custom field keys; pass them when rendering many
    recipients so that they are read once, not per recipient.
    """
    values = {name: str(getattr(recipient, name) or "") for name in STANDARD_FIELDS}
    keys = (
        field_keys
        if field_keys is not None
        else list(custom_fields(recipient.workspace).values_list("key", flat=True))
    )
    stored = recipient.fields or {}
    for key in keys:
        value = stored.get(key)
        values[key] = "" if value is None else _as_text(value)
    return values


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def recipient_get(workspace: Workspace, recipient_id: int) -> Recipient | None:
    return Recipient.objects.filter(workspace=workspace, pk=recipient_id).first()
