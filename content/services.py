"""Writes for templates and their attachments.

Every function is keyword-only and atomic. Refusals the user can fix raise ContentError (or its
TemplateSyntaxError, which says the part, line and name at fault) with a message fit to show.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError, Sum
from django.utils import timezone

from accounts.audit import services as audit
from accounts.models import Workspace
from audience.selectors import placeholder_names
from content import gallery
from content.files import sniff_type
from content.models import Template, TemplateAttachment
from content.rendering import TemplateParts, html_to_text, part_errors
from content.syntax import ContentError, TemplateErrors, TemplateSyntaxError

__all__ = ["ContentError", "TemplateSyntaxError"]

MAX_BODY_CHARS = 1_000_000  # far above any real message; bounds the work of one save


def template_check(
    *, workspace: Workspace, subject: str, html_body: str, text_body: str, text_from_html: bool
) -> None:
    """Raise TemplateErrors (a TemplateSyntaxError) naming the first fault of each faulty part
    (syntax or unknown name, the generated text included), or when there is nothing to send."""
    if not html_body.strip() and (text_from_html or not text_body.strip()):
        raise TemplateSyntaxError("Write an HTML body, a text body or both.", part="text")
    for part, source in (("HTML", html_body), ("text", text_body)):
        if len(source) > MAX_BODY_CHARS:
            raise TemplateSyntaxError(f"At most {MAX_BODY_CHARS:,} characters.", part=part)
    names = placeholder_names(workspace)
    parts = TemplateParts(
        subject=subject, html=html_body, text=text_body, text_from_html=text_from_html
    )
    errors = part_errors(parts, names)
    if parts.generates_text and not errors:
        generated = TemplateParts(subject="", text=html_to_text(html_body))
        errors = part_errors(generated, names)
    if errors:
        raise TemplateErrors(errors)


@transaction.atomic
def template_create(
    *,
    workspace: Workspace,
    name: str,
    subject: str,
    html_body: str = "",
    text_body: str = "",
    text_from_html: bool = False,
) -> Template:
    """Create a template after checking it (TemplateSyntaxError when it does not parse)."""
    template_check(
        workspace=workspace,
        subject=subject,
        html_body=html_body,
        text_body=text_body,
        text_from_html=text_from_html,
    )
    template = Template.objects.create(
        workspace=workspace,
        name=name,
        subject=subject,
        html_body=html_body,
        text_body=text_body,
        text_from_html=text_from_html,
    )
    audit.record("template.created", workspace=workspace, target=template)
    return template


@transaction.atomic
def template_update(
    *,
    template: Template,
    name: str,
    subject: str,
    html_body: str,
    text_body: str,
    text_from_html: bool,
) -> Template:
    """Save new contents after checking them; the stored template is unchanged on error."""
    template_check(
        workspace=template.workspace,
        subject=subject,
        html_body=html_body,
        text_body=text_body,
        text_from_html=text_from_html,
    )
    new = {
        "name": name,
        "subject": subject,
        "html_body": html_body,
        "text_body": text_body,
        "text_from_html": text_from_html,
    }
    # The names of what changed; a body can hold personal data, so never its text.
    changed = sorted(key for key, value in new.items() if getattr(template, key) != value)
    template.name, template.subject = name, subject
    template.html_body, template.text_body = html_body, text_body
    template.text_from_html = text_from_html
    template.updated_at = timezone.now()
    template.save(
        update_fields=[
            "name",
            "subject",
            "html_body",
            "text_body",
            "text_from_html",
            "updated_at",
        ]
    )
    if changed:
        audit.record(
            "template.changed", workspace=template.workspace, target=template, fields=changed
        )
    return template


@transaction.atomic
def template_duplicate(*, template: Template) -> Template:
    """A copy named "… (copy)", with copies of the attachment files."""
    copy = Template.objects.create(
        workspace=template.workspace,
        name=f"{template.name} (copy)"[:200],
        subject=template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
        text_from_html=template.text_from_html,
    )
    for attachment in template.attachments.all():
        with attachment.file.open("rb") as handle:
            data = handle.read()
        _store_attachment(copy, attachment.filename, attachment.content_type, data)
    return copy


@transaction.atomic
def template_delete(*, template: Template) -> None:
    """Delete the template and, once that has committed, its files.

    Raises ContentError when rows that protect it (a campaign using it) exist.
    """
    files = [a.file.name for a in template.attachments.all()]
    audit.record("template.deleted", workspace=template.workspace, target=template)
    try:
        with transaction.atomic():
            template.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ContentError("This template is used by a campaign, so it is kept.") from exc
    transaction.on_commit(lambda: _remove_files(files))


def _remove_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)


@transaction.atomic
def template_from_starter(*, workspace: Workspace, key: str) -> Template:
    """A workspace copy of a gallery starter. ContentError for an unknown key."""
    starter = gallery.starter(key)
    if starter is None:
        raise ContentError("There is no such starter template.")
    return Template.objects.create(
        workspace=workspace,
        name=starter.name,
        subject=starter.subject,
        html_body=starter.html(),
        text_body="",
        text_from_html=True,
    )


@transaction.atomic
def attachment_add(*, template: Template, filename: str, data: bytes) -> TemplateAttachment:
    """Attach a file after checking its size, the template's total and its real type.

    Raises ContentError when the file is empty or too large, the template's files together
    would be too large, or the type is not allowed or does not match the content.
    """
    filename = PurePath(filename.replace("\\", "/")).name.strip()[:200] or "attachment"
    size = len(data)
    attachment_check_size(size=size)
    used = template.attachments.aggregate(total=Sum("size"))["total"] or 0
    total_limit = settings.CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES
    if used + size > total_limit:
        raise ContentError(f"The files of one message may be at most {_megabytes(total_limit)}.")
    content_type = sniff_type(filename, data[:2048], settings.CONTENT_ATTACHMENT_TYPES)
    if content_type is None:
        raise ContentError(
            "This kind of file cannot be attached, or its content does not match its name."
        )
    return _store_attachment(template, filename, content_type, data)


def attachment_check_size(*, size: int) -> None:
    """Raise ContentError when one file of `size` bytes may not be attached (empty, too big)."""
    limit = settings.CONTENT_ATTACHMENT_MAX_BYTES
    if size == 0:
        raise ContentError("The file is empty.")
    if size > limit:
        raise ContentError(f"A file may be at most {_megabytes(limit)}.")


def _store_attachment(
    template: Template, filename: str, content_type: str, data: bytes
) -> TemplateAttachment:
    attachment = TemplateAttachment(
        template=template, filename=filename, content_type=content_type, size=len(data)
    )
    suffix = PurePath(filename).suffix.lower()[:10]
    attachment.file.save(f"{uuid.uuid4().hex}{suffix}", ContentFile(data), save=False)
    attachment.save()
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: TemplateAttachment) -> None:
    name = attachment.file.name
    attachment.delete()
    transaction.on_commit(lambda: _remove_files([name]))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
