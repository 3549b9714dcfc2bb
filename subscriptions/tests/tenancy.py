"""Objects of a foreign workspace for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from typing import Any

from audience.models import RecipientList
from subscriptions.models import SignupForm


def _form(foreign: Any) -> int:
    form, created = SignupForm.objects.get_or_create(
        workspace=foreign.workspace, name="foreignmark form", defaults={"title": "Foreignmark"}
    )
    if created:
        item, _ = RecipientList.objects.get_or_create(
            workspace=foreign.workspace, name="foreignmark list"
        )
        form.lists.set([item])
    return form.pk


PROVIDERS = {"form_id": _form}
