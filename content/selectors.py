"""Reads for templates. Every selector takes the workspace first."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet

from accounts.models import Workspace
from audience.importer import slug_for
from audience.models import CustomField, Recipient
from audience.selectors import placeholder_names, recipient_get, recipient_of_address
from content.message import Attachment
from content.models import LibraryImage, Template, TemplateAttachment
from content.rendering import read_attachments
from content.syntax import ContentError, TemplateWarning, names_in, parse, suspicious_tags

PREVIEW_RECIPIENTS = 200  # the preview's picker lists this many; more would bloat the page


def templates(workspace: Workspace) -> QuerySet[Template]:
    return Template.objects.filter(workspace=workspace).annotate(
        attachment_count=Count("attachments")
    )


def template_get(workspace: Workspace, template_id: int) -> Template | None:
    return Template.objects.filter(workspace=workspace, pk=template_id).first()


def template_name_of(workspace_id: int, template_id: int | OuterRef) -> QuerySet[Template, Any]:
    """The template's name alone (its bodies are not read), as a query of one column and at
    most one row (none once the template is gone). `template_id` may be an OuterRef to the
    template column of the query this one goes into as a Subquery."""
    found = Template.objects.filter(workspace_id=workspace_id, pk=template_id)  # type: ignore[misc]
    return found.values("name")[:1]


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
    if recipient_id:
        return recipient_get(workspace, recipient_id)
    return recipient_of_address(workspace, email)


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


def template_warnings(
    workspace: Workspace, *, subject: str, html_body: str, text_body: str
) -> list[TemplateWarning]:
    """What in these parts looks like a placeholder but would be sent as written
    (`{ first_name }`, `{тариф}`), per part in order, naming the key to use where one fits:
    the field labelled with that word, or the key its transliteration makes."""
    names = placeholder_names(workspace)
    labels = {
        label.strip().lower(): key
        for key, label in CustomField.objects.filter(workspace=workspace).values_list(
            "key", "label"
        )
    }

    def suggest(word: str) -> str | None:
        key = labels.get(word.lower()) or slug_for(word)
        return key if key in names else None

    found: list[TemplateWarning] = []
    for part, source in (("subject", subject), ("HTML", html_body), ("text", text_body)):
        found += suspicious_tags(source, names, part=part, suggest=suggest)
    return found


def templates_using_field(*, workspace: Workspace, key: str) -> list[str]:
    """The templates whose parts read the field `key`, as "template “name”" (one of
    settings.CUSTOM_FIELD_USERS: a field's deletion warns about them)."""
    candidates = Template.objects.filter(workspace=workspace).filter(
        Q(subject__contains=key) | Q(html_body__contains=key) | Q(text_body__contains=key)
    )
    return [f"template “{t.name}”" for t in candidates.order_by("name") if _reads(t, key)]


def _reads(template: Template, key: str) -> bool:
    for source in (template.subject, template.html_body, template.text_body):
        try:
            if any(name == key for name, _ in names_in(parse(source))):
                return True
        except ContentError:
            continue  # a template saved before a rule changed: not a reason to hide others
    return False


def images(workspace: Workspace) -> QuerySet[LibraryImage]:
    return LibraryImage.objects.filter(workspace=workspace)


def image_get(workspace: Workspace, image_id: int) -> LibraryImage | None:
    return LibraryImage.objects.filter(workspace=workspace, pk=image_id).first()


def image_published(workspace_id: int, public_name: str) -> LibraryImage | None:
    """The image served at the public address /images/<workspace_id>/<digest>.<ext>.

    Public because recipients' mail programs load it without signing in; found only under its
    own workspace's id, and its name is the hash of its content, so it cannot be guessed.
    """
    digest, _dot, extension = public_name.partition(".")
    return LibraryImage.objects.filter(
        workspace_id=workspace_id, digest=digest, extension=extension
    ).first()
