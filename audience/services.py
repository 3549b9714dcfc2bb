"""Writes for the audience: recipients, custom fields, lists, segments, suppression."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Workspace
from audience.models import DEFAULT_CUSTOM_FIELDS, CustomField


@transaction.atomic
def workspace_initialize(*, workspace: Workspace) -> None:
    """Give a new workspace the custom fields of the djangoMailer CSV (free_field1..3)."""
    CustomField.objects.bulk_create(
        [
            CustomField(workspace=workspace, key=key, label=key.replace("_", " ").capitalize())
            for key in DEFAULT_CUSTOM_FIELDS
        ],
        ignore_conflicts=True,
    )
