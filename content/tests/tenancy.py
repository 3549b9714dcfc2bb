"""Foreign templates and attachments for the tenancy walker (postroom/tests/test_tenancy.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from content.models import LibraryImage, Template, TemplateAttachment

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


def _block(foreign: Any) -> int:
    # The first block of a foreign block template: its template id comes from _template, so
    # make that template a block template with one block.
    Template.objects.filter(pk=_template(foreign)).update(
        format=Template.Format.BLOCKS, blocks=[{"type": "spacer", "height": "24"}]
    )
    return 0


def _image(foreign: Any) -> int:
    # A row naming a file that is never written, like _attachment's.
    image, _ = LibraryImage.objects.get_or_create(
        workspace=foreign.workspace,
        digest="f" * 64,
        defaults={
            "file": "images/foreignmark.png",
            "name": "foreignmark.png",
            "extension": "png",
            "content_type": "image/png",
            "width": 1,
            "height": 1,
            "size": 1,
        },
    )
    return image.pk


PROVIDERS: dict[str, Provider] = {
    "template_id": _template,
    "attachment_id": _attachment,
    "block": _block,
    "image_id": _image,
}
