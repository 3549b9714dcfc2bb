"""What the templates API reads and writes. Rules stay in content.services (template_check,
attachment_add): these only type and shape the fields."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audience.models import VALUE_MAX_CHARS
from content import gallery, selectors
from content.forms import FIELD_OF_PART
from content.models import Template, TemplateAttachment
from content.syntax import TemplateWarning


class AttachmentOut(serializers.ModelSerializer[TemplateAttachment]):
    class Meta:
        model = TemplateAttachment
        fields = ("id", "filename", "content_type", "size", "created_at")
        read_only_fields = fields


class AttachmentIn(serializers.Serializer[Any]):
    file = serializers.FileField(
        allow_empty_file=True,  # services.attachment_check_size refuses it, in the UI's words
        help_text="multipart/form-data; its type is read from its name and checked against "
        "its content.",
    )


class TemplateSummaryOut(serializers.ModelSerializer[Template]):
    """A template in a list: no bodies (GET the template for them)."""

    attachment_count = serializers.SerializerMethodField()

    class Meta:
        model = Template
        fields: tuple[str, ...] = (
            "id",
            "name",
            "subject",
            "text_from_html",
            "attachment_count",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_attachment_count(self, template: Template) -> int:
        # Lists annotate the count (selectors.templates); a single template counts its rows.
        count = getattr(template, "attachment_count", None)
        return count if count is not None else template.attachments.count()


class TemplateFault(serializers.Serializer[Any]):
    part = serializers.CharField(help_text="subject, HTML or text")
    field = serializers.CharField(help_text="The input field at fault.")
    line = serializers.IntegerField(help_text="1-based; 0 when the fault has no line.")
    name = serializers.CharField(help_text="The placeholder at fault, if any.")
    message = serializers.CharField()


def warning_faults(warnings: list[TemplateWarning]) -> list[dict[str, Any]]:
    """Warnings in the shape of faults: part, field, line, name, message."""
    return [
        {
            "part": w.part,
            "field": FIELD_OF_PART.get(w.part, "non_field_errors"),
            "line": w.line,
            "name": w.name,
            "message": str(w),
        }
        for w in warnings
    ]


class TemplateOut(TemplateSummaryOut):
    attachments = AttachmentOut(many=True, read_only=True)
    warnings = serializers.SerializerMethodField(
        help_text="What looks like a placeholder but is sent as written ({ first_name }, "
        "{тариф}): saved, but surely not meant."
    )

    class Meta(TemplateSummaryOut.Meta):
        fields = (
            "id",
            "name",
            "subject",
            "format",
            "html_body",
            "mjml_body",
            "blocks",
            "text_body",
            "text_from_html",
            "attachment_count",
            "attachments",
            "warnings",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(TemplateFault(many=True))
    def get_warnings(self, template: Template) -> list[dict[str, Any]]:
        found = selectors.template_warnings(
            template.workspace,
            subject=template.subject,
            html_body=template.html_body,
            text_body=template.text_body,
        )
        return warning_faults(found)


class TemplatePartsIn(serializers.ModelSerializer[Template]):
    """The parts of a template; services.template_check decides whether they compile."""

    class Meta:
        model = Template
        fields: tuple[str, ...] = ("subject", "html_body", "text_body", "text_from_html")
        extra_kwargs = {
            "html_body": {"trim_whitespace": False},
            "text_body": {"trim_whitespace": False},
        }


class TemplateIn(TemplatePartsIn):
    """A template to create or change. `format` is chosen at creation (later it is ignored):
    for "mjml" the HTML is compiled from `mjml_body` and a given `html_body` is ignored;
    "blocks" starts an empty block message, edited in the block editor."""

    class Meta(TemplatePartsIn.Meta):
        fields = ("name", "format", *TemplatePartsIn.Meta.fields, "mjml_body")
        extra_kwargs = TemplatePartsIn.Meta.extra_kwargs | {"mjml_body": {"trim_whitespace": False}}


class TemplateCheckOut(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    errors = TemplateFault(many=True)  # type: ignore[assignment]  # a field, not .errors
    warnings = TemplateFault(many=True, help_text="Saved, but sent as written; see TemplateOut.")


class PreviewIn(serializers.Serializer[Any]):
    recipient_id = serializers.IntegerField(
        required=False, help_text="Render with this recipient's values."
    )
    email = serializers.EmailField(
        required=False, help_text="Render with the values of the recipient with this address."
    )
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=VALUE_MAX_CHARS),
        required=False,
        help_text="Sample values, over the recipient's (or the built-in samples); each at most "
        f"{VALUE_MAX_CHARS:,} characters, as a recipient's values are.",
    )

    def validate_values(self, values: dict[str, str]) -> dict[str, str]:
        if len(values) > MAX_PREVIEW_VALUES:
            raise serializers.ValidationError(
                _("At most %(n)s values.") % {"n": MAX_PREVIEW_VALUES}
            )
        return values


MAX_PREVIEW_VALUES = 200  # far more than a workspace has fields


class PreviewOut(serializers.Serializer[Any]):
    subject = serializers.CharField()
    html = serializers.CharField(allow_null=True, help_text="null when there is no HTML part.")
    text = serializers.CharField()
    recipient_id = serializers.IntegerField(allow_null=True)


class StarterOut(serializers.Serializer[Any]):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    subject = serializers.CharField()


class FromStarterIn(serializers.Serializer[Any]):
    starter = serializers.ChoiceField(choices=[s.key for s in gallery.STARTERS])
