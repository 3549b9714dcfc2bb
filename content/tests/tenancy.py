"""Foreign templates and attachments for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from content.models import Template, TemplateAttachment

Provider = Callable[[Any], Any]


def _template(foreign: Any) -> int:
    template, _ = Template.objects.get_or_create(
        workspace=foreign.workspace,
        name="foreignmark template",
        defaults={"subject": "foreignmark subject", "text_body": "foreignmark"},
    )
    return template.pk


def _attachment(foreign: Any) -> int:
    # A row naming a file that is never written: the walker runs outside content's tests, whose
    # conftest points MEDIA_ROOT at a temporary directory.
    attachment = TemplateAttachment.objects.create(
        template=Template.objects.get(pk=_template(foreign)),
        file="template-attachments/foreignmark.txt",
        filename="foreignmark.txt",
        content_type="text/plain",
        size=11,
    )
    return attachment.pk


PROVIDERS: dict[str, Provider] = {
    "template_id": _template,
    "attachment_id": _attachment,
}
