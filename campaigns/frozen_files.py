"""A campaign's attachments, copied when it starts.

The text of a campaign is frozen at its start (`services.freeze_content`); its files are too:
they are copied next to the campaign, so that editing or deleting the template's attachments
later changes nothing in a running campaign. They go when the campaign is deleted.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from content.message import Attachment
from content.models import Template
from content.selectors import template_attachments
from content.syntax import ContentError


def freeze_attachments(campaign: Campaign, template: Template) -> list[dict[str, str]]:
    """Copy the template's files for the campaign; what `frozen_attachments` reads back.

    Raises ContentError when a file of the template cannot be read.
    """
    entries = []
    for item in template_attachments(campaign.workspace, template.pk):
        name = default_storage.save(
            f"campaign-attachments/{campaign.workspace_id}/{campaign.pk}/{secrets.token_hex(8)}",
            ContentFile(item.data),
        )
        entries.append({"path": name, "filename": item.filename, "content_type": item.content_type})
    return entries


def copy_frozen_attachments(
    campaign: Campaign, entries: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Copy another campaign's frozen files for `campaign` (a resend sends what its campaign
    sent), so that deleting either deletes only its own copies.

    Raises ContentError when a file cannot be read.
    """
    copied = []
    for item in frozen_attachments(entries):
        name = default_storage.save(
            f"campaign-attachments/{campaign.workspace_id}/{campaign.pk}/{secrets.token_hex(8)}",
            ContentFile(item.data),
        )
        copied.append({"path": name, "filename": item.filename, "content_type": item.content_type})
    return copied


def frozen_attachments(entries: list[dict[str, Any]]) -> tuple[Attachment, ...]:
    """The files copied at the start; ContentError if one has gone."""
    files = []
    for entry in entries:
        try:
            with default_storage.open(entry["path"], "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ContentError(
                _("The attachment %(name)s cannot be read.") % {"name": entry["filename"]}
            ) from exc
        files.append(Attachment(entry["filename"], entry["content_type"], data))
    return tuple(files)


def delete_frozen_files(content: dict[str, Any]) -> None:
    """Delete the campaign's copied files, its A/B test's content variants' too."""
    for part in (content, *(content.get("variants") or {}).values()):
        for entry in part.get("attachments", ()):
            default_storage.delete(entry["path"])
