"""Foreign templates and attachments for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from content.models import Template
from content.services import attachment_add

Provider = Callable[[Any], Any]


def _template(foreign: Any) -> int:
    template, _ = Template.objects.get_or_create(
        workspace=foreign.workspace,
        name="foreignmark template",
        defaults={"subject": "foreignmark subject", "text_body": "foreignmark"},
    )
    return template.pk


def _attachment(foreign: Any) -> int:
    template = Template.objects.get(pk=_template(foreign))
    return attachment_add(template=template, filename="foreignmark.txt", data=b"foreignmark").pk


PROVIDERS: dict[str, Provider] = {
    "template_id": _template,
    "attachment_id": _attachment,
}
