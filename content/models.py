"""Templates of a workspace and the files attached to them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace


class Template(models.Model):
    """A message to personalise: subject, HTML body and text body (see content.syntax).

    Its `format` says what the user edits. An HTML template's `html_body` is written by hand.
    An MJML template's `mjml_body` is compiled into `html_body` when it is saved, and a block
    template's `blocks` are turned into `mjml_body` and then `html_body` (content.blocks,
    content.mjml): everything after the save (previews, freezing, sending) reads `html_body`
    only, so it works the same for all three, and MJML is compiled once per version.

    With `text_from_html` the text part is generated from the HTML each time the template is
    compiled, so the two never drift apart; otherwise `text_body` is used as written, unless
    it is empty, when it is generated too (see TemplateParts.generates_text).
    """

    class Format(models.TextChoices):
        HTML = "html", _("HTML")
        MJML = "mjml", _("MJML code")
        BLOCKS = "blocks", _("Blocks")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="templates")
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.HTML)
    mjml_body = models.TextField(blank=True)
    blocks = models.JSONField(default=list, blank=True)
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998)
    html_body = models.TextField(blank=True)
    text_body = models.TextField(blank=True)
    text_from_html = models.BooleanField(
        default=False, help_text="Generate the text part from the HTML when sending."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-updated_at", "-id")
        indexes = (models.Index(fields=("workspace", "updated_at"), name="template_ws_updated"),)

    def __str__(self) -> str:
        return self.name


def _attachment_path(instance: TemplateAttachment, filename: str) -> str:
    # The stored name is random: the user's file name is kept in `filename` for the message.
    return f"template-attachments/{instance.template.workspace_id}/{filename}"


class TemplateAttachment(models.Model):
    """A file sent with every message of its template; its type is sniffed, never trusted."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.filename


def _image_path(instance: LibraryImage, filename: str) -> str:
    return f"images/{instance.workspace_id}/{filename}"


class LibraryImage(models.Model):
    """An image of a workspace's library, for the messages' image blocks.

    Its file is named by the SHA-256 of its (resized) bytes, so its public URL changes when the
    content does and may be cached for ever; the same image uploaded twice is stored once.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=_image_path, max_length=300)
    name = models.CharField(max_length=200)  # the uploaded file's name, to find it again
    digest = models.CharField(max_length=64)
    extension = models.CharField(max_length=5)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(fields=("workspace", "digest"), name="image_ws_digest"),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def public_name(self) -> str:
        return f"{self.digest}.{self.extension}"
