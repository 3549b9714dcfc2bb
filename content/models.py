"""Templates of a workspace and the files attached to them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Workspace


class Template(models.Model):
    """A message to personalise: subject, HTML body and text body (see content.syntax).

    With `text_from_html` the text part is generated from the HTML each time the template is
    compiled, so the two never drift apart; otherwise `text_body` is used as written, unless
    it is empty, when it is generated too (see TemplateParts.generates_text).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="templates")
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
