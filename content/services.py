"""Writes for templates and their attachments.

Every function is keyword-only and atomic. Refusals the user can fix raise ContentError (or its
TemplateSyntaxError, which says the part, line and name at fault) with a message fit to show.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import services as audit
from accounts.models import Workspace
from audience.selectors import placeholder_names
from content import blocks as block_doc
from content import gallery, images
from content.files import sniff_type
from content.mjml_compile import PART as MJML_PART
from content.mjml_compile import mjml_to_html
from content.models import LibraryImage, Template, TemplateAttachment
from content.rendering import TemplateParts, html_to_text, part_errors
from content.syntax import ContentError, TemplateErrors, TemplateSyntaxError, check_names, parse

__all__ = ["ContentError", "TemplateSyntaxError"]

MAX_BODY_CHARS = 1_000_000  # far above any real message; bounds the work of one save


def _too_long() -> str:
    return _("At most %(n)s characters.") % {"n": f"{MAX_BODY_CHARS:,}"}


def template_check(
    *, workspace: Workspace, subject: str, html_body: str, text_body: str, text_from_html: bool
) -> None:
    """Raise TemplateErrors (a TemplateSyntaxError) naming the first fault of each faulty part
    (syntax or unknown name, the generated text included), or when there is nothing to send."""
    if not html_body.strip() and (text_from_html or not text_body.strip()):
        raise TemplateSyntaxError(_("Write an HTML body, a text body or both."), part="text")
    for part, source in (("HTML", html_body), ("text", text_body)):
        if len(source) > MAX_BODY_CHARS:
            raise TemplateSyntaxError(_too_long(), part=part)
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


def mjml_compile(*, workspace: Workspace, mjml_body: str) -> str:
    """The HTML of an MJML body, once its placeholders are checked.

    Raises TemplateSyntaxError with part "MJML": the personalisation syntax is checked on the
    MJML itself, so a line number points into what the user wrote, not into MRML's output.
    """
    if len(mjml_body) > MAX_BODY_CHARS:
        raise TemplateSyntaxError(_too_long(), part=MJML_PART)
    check_names(parse(mjml_body, part=MJML_PART), placeholder_names(workspace), part=MJML_PART)
    return mjml_to_html(mjml_body)


@transaction.atomic
def template_create(
    *,
    workspace: Workspace,
    name: str,
    subject: str,
    html_body: str = "",
    text_body: str = "",
    text_from_html: bool = False,
    format: str = Template.Format.HTML,
    mjml_body: str = "",
    blocks: list[block_doc.Block] | None = None,
) -> Template:
    """Create a template after checking it (TemplateSyntaxError when it does not parse).

    For an MJML template `html_body` is ignored and compiled from `mjml_body`; for a block
    template both are made from `blocks` (an empty list makes an empty message to fill).
    """
    blocks = list(blocks or [])
    if format == Template.Format.BLOCKS:
        mjml_body = block_doc.blocks_to_mjml(blocks)
    if format != Template.Format.HTML:
        html_body = mjml_compile(workspace=workspace, mjml_body=mjml_body)
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
        format=format,
        mjml_body=mjml_body if format != Template.Format.HTML else "",
        blocks=blocks if format == Template.Format.BLOCKS else [],
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
    mjml_body: str | None = None,
) -> Template:
    """Save new contents after checking them; the stored template is unchanged on error.

    An MJML template's HTML is compiled from `mjml_body` (the stored one when None) and the
    given `html_body` is ignored; a block template's MJML and HTML come from its blocks.
    """
    if template.format == Template.Format.BLOCKS:
        mjml_body = block_doc.blocks_to_mjml(template.blocks)
    elif mjml_body is None:
        mjml_body = template.mjml_body
    if template.format != Template.Format.HTML:
        html_body = mjml_compile(workspace=template.workspace, mjml_body=mjml_body)
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
        "mjml_body": mjml_body if template.format != Template.Format.HTML else "",
    }
    # The names of what changed; a body can hold personal data, so never its text.
    changed = sorted(key for key, value in new.items() if getattr(template, key) != value)
    template.name, template.subject = name, subject
    template.html_body, template.text_body = html_body, text_body
    template.text_from_html = text_from_html
    template.mjml_body = str(new["mjml_body"])
    template.updated_at = timezone.now()
    template.save(
        update_fields=[
            "name",
            "subject",
            "html_body",
            "text_body",
            "text_from_html",
            "mjml_body",
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
        format=template.format,
        mjml_body=template.mjml_body,
        blocks=template.blocks,
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
        raise ContentError(_("This template is used by a campaign, so it is kept.")) from exc
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
        raise ContentError(_("There is no such starter template."))
    if starter.blocks:
        return template_create(
            workspace=workspace,
            name=starter.name,
            subject=starter.subject,
            text_from_html=True,
            format=Template.Format.BLOCKS,
            blocks=[dict(b) for b in starter.blocks],
        )
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
        raise ContentError(
            _("The files of one message may be at most %(size)s.")
            % {"size": _megabytes(total_limit)}
        )
    content_type = sniff_type(filename, data[:2048], settings.CONTENT_ATTACHMENT_TYPES)
    if content_type is None:
        raise ContentError(
            _("This kind of file cannot be attached, or its content does not match its name.")
        )
    return _store_attachment(template, filename, content_type, data)


def attachment_check_size(*, size: int) -> None:
    """Raise ContentError when one file of `size` bytes may not be attached (empty, too big)."""
    limit = settings.CONTENT_ATTACHMENT_MAX_BYTES
    if size == 0:
        raise ContentError(_("The file is empty."))
    if size > limit:
        raise ContentError(_("A file may be at most %(size)s.") % {"size": _megabytes(limit)})


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


# --- The block editor -------------------------------------------------------------------------


def _save_blocks(template: Template, blocks: list[block_doc.Block]) -> Template:
    """Store `blocks` with the MJML and HTML made from them, after checking them all.

    Raises TemplateSyntaxError (the template is unchanged) when a placeholder in a block is
    unknown or malformed, or the MJML does not compile.
    """
    if len(blocks) > block_doc.MAX_BLOCKS:
        raise ContentError(_("A message has at most %(n)s blocks.") % {"n": block_doc.MAX_BLOCKS})
    mjml_body = block_doc.blocks_to_mjml(blocks)
    html_body = mjml_compile(workspace=template.workspace, mjml_body=mjml_body)
    template_check(
        workspace=template.workspace,
        subject=template.subject,
        html_body=html_body,
        text_body=template.text_body,
        text_from_html=template.text_from_html,
    )
    template.blocks, template.mjml_body, template.html_body = blocks, mjml_body, html_body
    template.updated_at = timezone.now()
    template.save(update_fields=["blocks", "mjml_body", "html_body", "updated_at"])
    audit.record(
        "template.changed", workspace=template.workspace, target=template, fields=["blocks"]
    )
    return template


def _blocks_of(template: Template, index: int | None = None) -> list[block_doc.Block]:
    if template.format != Template.Format.BLOCKS:
        raise ContentError(_("This template is not edited with blocks."))
    blocks = [dict(b) for b in template.blocks]
    if index is not None and not 0 <= index < len(blocks):
        raise ContentError(_("There is no such block."))
    return blocks


@transaction.atomic
def block_add(*, template: Template, kind: str, values: dict[str, str] | None = None) -> int:
    """Append a block of `kind` with its defaults (and `values`); return its index.

    ContentError for an unknown kind or a template that is not a block template.
    """
    blocks = _blocks_of(template)
    if kind not in block_doc.KINDS:
        raise ContentError(_("There is no such kind of block."))
    blocks.append(block_doc.new_block(kind, **(values or {})))
    _save_blocks(template, blocks)
    return len(blocks) - 1


@transaction.atomic
def block_update(*, template: Template, index: int, block: block_doc.Block) -> Template:
    """Replace the block at `index` (already cleaned by blocks.clean_block)."""
    blocks = _blocks_of(template, index)
    blocks[index] = block | {"type": blocks[index]["type"]}
    return _save_blocks(template, blocks)


@transaction.atomic
def block_move(*, template: Template, index: int, step: int) -> Template:
    """Move the block at `index` one place up (step -1) or down (+1); at an end, no change."""
    blocks = _blocks_of(template, index)
    target = index + (1 if step > 0 else -1)
    if not 0 <= target < len(blocks):
        return template
    blocks[index], blocks[target] = blocks[target], blocks[index]
    return _save_blocks(template, blocks)


@transaction.atomic
def block_delete(*, template: Template, index: int) -> Template:
    blocks = _blocks_of(template, index)
    del blocks[index]
    return _save_blocks(template, blocks)


@transaction.atomic
def template_to_code(*, template: Template) -> Template:
    """Turn a block template into an MJML code template: its MJML is kept, its blocks dropped.

    There is no way back: MJML written by hand cannot be read as blocks.
    """
    _blocks_of(template)
    template.format, template.blocks = Template.Format.MJML, []
    template.updated_at = timezone.now()
    template.save(update_fields=["format", "blocks", "updated_at"])
    audit.record(
        "template.changed", workspace=template.workspace, target=template, fields=["format"]
    )
    return template


# --- The image library ----------------------------------------------------------------------

IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"]


@transaction.atomic
def image_add(*, workspace: Workspace, filename: str, data: bytes) -> LibraryImage:
    """Add an image to the workspace's library, scaled down to CONTENT_IMAGE_MAX_WIDTH.

    Its type is sniffed like an attachment's (name and first bytes agree) and it must decode.
    Raises ContentError when it is empty, too large, not a PNG, JPEG, GIF or WebP, or cannot
    be read. The same image uploaded again returns the row already there.
    """
    filename = PurePath(filename.replace("\\", "/")).name.strip()[:200] or "image"
    image_check_size(size=len(data))
    content_type = sniff_type(filename, data[:2048], IMAGE_TYPES)
    if content_type is None:
        raise ContentError(
            _("Only PNG, JPEG, GIF and WebP images can be added, and the content must match.")
        )
    try:
        prepared = images.prepare_image(data, content_type, settings.CONTENT_IMAGE_MAX_WIDTH)
    except images.ImageRefused as exc:
        raise ContentError(_("This image cannot be used: %(reason)s.") % {"reason": exc}) from exc
    digest = hashlib.sha256(prepared.data).hexdigest()
    found = LibraryImage.objects.filter(workspace=workspace, digest=digest).first()
    if found is not None:
        return found
    image = LibraryImage(
        workspace=workspace,
        name=filename,
        digest=digest,
        extension=images.EXTENSIONS[content_type],
        content_type=content_type,
        width=prepared.width,
        height=prepared.height,
        size=len(prepared.data),
    )
    image.file.save(image.public_name, ContentFile(prepared.data), save=False)
    image.save()
    audit.record("image.added", workspace=workspace, target=image)
    return image


def image_check_size(*, size: int) -> None:
    """Raise ContentError when an upload of `size` bytes may not be added (empty, too big)."""
    limit = settings.CONTENT_IMAGE_MAX_BYTES
    if size == 0:
        raise ContentError(_("The file is empty."))
    if size > limit:
        raise ContentError(_("An image may be at most %(size)s.") % {"size": _megabytes(limit)})


@transaction.atomic
def image_delete(*, image: LibraryImage) -> None:
    """Remove the image; messages already sent that show it lose it, so the page warns first."""
    name = image.file.name
    audit.record("image.deleted", workspace=image.workspace, target=image)
    image.delete()
    transaction.on_commit(lambda: _remove_files([name]))
