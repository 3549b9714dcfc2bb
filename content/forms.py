"""Forms of the template pages. They validate input; the services check the syntax and write."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from content import blocks
from content.models import Template

# Which form field shows an error of each template part (TemplateSyntaxError.part).
FIELD_OF_PART = {
    "subject": "subject",
    "HTML": "html_body",
    "text": "text_body",
    "MJML": "mjml_body",
}


class TemplateForm(forms.ModelForm[Template]):
    class Meta:
        model = Template
        fields = ("name", "subject", "html_body", "text_body", "text_from_html")
        labels = {
            "name": _("Name"),
            "subject": _("Subject"),
            "html_body": _("HTML body"),
            "text_body": _("Text body"),
            "text_from_html": _("Generate the text body from the HTML when sending"),
        }
        help_texts = {
            "text_body": _("Left empty, it is generated from the HTML when sending."),
            "text_from_html": _("Otherwise the text body is sent as written."),
        }
        widgets = {
            "subject": forms.TextInput(attrs={"data-placeholders": "", "autocomplete": "off"}),
            "html_body": forms.Textarea(
                attrs={
                    "rows": 18,
                    "data-placeholders": "",
                    "spellcheck": "false",
                    "class": "font-mono text-sm",
                }
            ),
            "text_body": forms.Textarea(attrs={"rows": 10, "data-placeholders": ""}),
        }


class MjmlTemplateForm(forms.ModelForm[Template]):
    """An MJML code template: the MJML is compiled into the HTML part when it is saved."""

    class Meta:
        model = Template
        fields = ("name", "subject", "mjml_body", "text_body", "text_from_html")
        labels = TemplateForm.Meta.labels | {
            "mjml_body": _("MJML"),
            "text_from_html": _("Generate the text body from the compiled HTML when sending"),
        }
        help_texts = {
            "mjml_body": _(
                "Compiled into responsive HTML when you save. Placeholders and conditions work "
                "in text, buttons and links."
            ),
            "text_body": _("Left empty, it is generated from the compiled HTML when sending."),
            "text_from_html": _("Otherwise the text body is sent as written."),
        }
        widgets = TemplateForm.Meta.widgets | {
            "mjml_body": forms.Textarea(
                attrs={
                    "rows": 22,
                    "data-placeholders": "",
                    "spellcheck": "false",
                    "class": "font-mono text-sm",
                }
            ),
        }


class BlocksTemplateForm(forms.ModelForm[Template]):
    """A block template's own fields; its blocks are edited one by one (BlockForm)."""

    class Meta:
        model = Template
        fields = ("name", "subject", "text_body", "text_from_html")
        labels = MjmlTemplateForm.Meta.labels
        help_texts = {
            "text_body": _("Left empty, it is generated from the compiled HTML when sending."),
            "text_from_html": _("Otherwise the text body is sent as written."),
        }
        widgets = TemplateForm.Meta.widgets


FORM_OF_FORMAT: dict[str, type[forms.ModelForm[Template]]] = {
    Template.Format.HTML: TemplateForm,
    Template.Format.MJML: MjmlTemplateForm,
    Template.Format.BLOCKS: BlocksTemplateForm,
}


class BlockForm(forms.Form):
    """The fields of one block kind (blocks.KINDS), checked by blocks.clean_block."""

    def __init__(
        self,
        kind: str,
        *args: object,
        library: list[tuple[str, str]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.kind = kind
        for spec in blocks.fields_of(kind):
            self.fields[spec.name] = _block_field(spec)
        if kind == "image" and library:
            # Picking from the library fills the image address (the choices are its URLs).
            self.fields["library"] = forms.ChoiceField(
                label=_("Or pick from the image library"),
                required=False,
                choices=[("", _("(none)")), *library],
            )
            self.order_fields(["library"])
        # htmx focuses an autofocus field it swaps in: keyboard users land in the opened form.
        first = next(iter(self.fields.values()), None)
        if first is not None:
            first.widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("library"):
            cleaned["src"] = cleaned["library"]
        block, errors = blocks.clean_block(self.kind, cleaned)
        for name, error in errors.items():
            self.add_error(name, error)
        self.block = block
        return cleaned


def _block_field(spec: blocks.Field) -> forms.Field:
    attrs = {"data-placeholders": ""} if spec.kind in {"text", "multiline", "url"} else {}
    if spec.kind == "multiline":
        return forms.CharField(
            label=spec.label, required=False, widget=forms.Textarea(attrs={"rows": 4, **attrs})
        )
    if spec.kind == "choice":
        labels = {"left": _("Left"), "center": _("Centre"), "right": _("Right")}
        choices = [(c, labels.get(c, c)) for c in spec.choices]
        return forms.ChoiceField(label=spec.label, required=False, choices=choices)
    if spec.kind == "color":
        return forms.CharField(
            label=spec.label, required=False, widget=forms.TextInput(attrs={"type": "color"})
        )
    if spec.kind == "int":
        return forms.CharField(
            label=spec.label,
            required=False,
            widget=forms.NumberInput(attrs={"min": spec.low, "max": spec.high}),
        )
    return forms.CharField(
        label=spec.label,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", **attrs}),
    )


class ImageForm(forms.Form):
    # A FileField, not ImageField: the service checks the type and decodes the image itself.
    file = forms.FileField(label=_("Image"))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class PreviewForm(forms.Form):
    recipient = forms.IntegerField(required=False)
    email = forms.CharField(required=False, max_length=254)
    width = forms.ChoiceField(
        choices=(("desktop", _("Desktop")), ("phone", _("Phone"))), required=False
    )


MAX_TEST_ADDRESSES = 10


class TestSendForm(forms.Form):
    """The addresses of a test send (the lead adds the sending account field where it is used).

    `cleaned_data["addresses"]` is a list of 1 to 10 distinct, valid addresses.
    """

    addresses = forms.CharField(
        label=_("Send a test to"),
        widget=forms.Textarea(attrs={"rows": 2}),
        # The number is MAX_TEST_ADDRESSES, written out: help text is fixed text only.
        help_text=_("Up to 10 addresses, separated by commas or new lines."),
    )

    def clean_addresses(self) -> list[str]:
        raw = self.cleaned_data["addresses"]
        found = list(dict.fromkeys(a for a in re.split(r"[\s,;]+", raw) if a))
        if not found:
            raise ValidationError(_("Enter at least one address."))
        if len(found) > MAX_TEST_ADDRESSES:
            raise ValidationError(
                _("A test goes to at most %(n)s addresses.") % {"n": MAX_TEST_ADDRESSES}
            )
        bad = [a for a in found if not _valid_email(a)]
        if bad:
            raise ValidationError(_("Not an e-mail address: %(bad)s") % {"bad": ", ".join(bad)})
        return found


def _valid_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True
