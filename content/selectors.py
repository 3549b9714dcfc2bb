"""Reads for templates. Every selector takes the workspace first."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.models import Workspace
from audience.models import CustomField, Recipient
from content.message import Attachment
from content.models import Template, TemplateAttachment
from content.rendering import read_attachments

PREVIEW_RECIPIENTS = 200  # the preview's picker lists this many; more would bloat the page


def templates(workspace: Workspace) -> QuerySet[Template]:
    return Template.objects.filter(workspace=workspace).annotate(
        attachment_count=Count("attachments")
    )


def template_get(workspace: Workspace, template_id: int) -> Template | None:
    return Template.objects.filter(workspace=workspace, pk=template_id).first()


def attachment_get(
    workspace: Workspace, template: Template, attachment_id: int
) -> TemplateAttachment | None:
    return TemplateAttachment.objects.filter(
        template__workspace=workspace, template=template, pk=attachment_id
    ).first()


def preview_recipients(workspace: Workspace) -> QuerySet[Recipient]:
    return Recipient.objects.filter(workspace=workspace).order_by("email")[:PREVIEW_RECIPIENTS]


def preview_recipient(
    workspace: Workspace, *, recipient_id: int | None = None, email: str = ""
) -> Recipient | None:
    """The workspace's recipient with this id, else with this address (any case)."""
    found = Recipient.objects.filter(workspace=workspace)
    if recipient_id:
        return found.filter(pk=recipient_id).first()
    return found.filter(email__iexact=email.strip()).first() if email.strip() else None


def field_keys(workspace: Workspace) -> list[str]:
    return list(CustomField.objects.filter(workspace=workspace).values_list("key", flat=True))


def template_attachments(workspace: Workspace, template_id: int) -> tuple[Attachment, ...]:
    """The files a template's messages carry, read now (none if the template is gone).

    For the campaign engine, which freezes a template's text when a campaign starts: pass
    `frozen_parts(...)` these as `attachments`. Raises ContentError if a file cannot be read.
    """
    rows = TemplateAttachment.objects.filter(
        template__workspace=workspace, template_id=template_id
    ).order_by("created_at", "id")
    return read_attachments(rows)
