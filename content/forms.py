"""Forms of the template pages. They validate input; the services check the syntax and write."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from content.models import Template

# Which form field shows an error of each template part (TemplateSyntaxError.part).
FIELD_OF_PART = {"subject": "subject", "HTML": "html_body", "text": "text_body"}


class TemplateForm(forms.ModelForm[Template]):
    class Meta:
        model = Template
        fields = ("name", "subject", "html_body", "text_body", "text_from_html")
        labels = {
            "html_body": "HTML body",
            "text_body": "Text body",
            "text_from_html": "Generate the text body from the HTML when sending",
        }
        help_texts = {
            "text_body": "Left empty, it is generated from the HTML when sending.",
            "text_from_html": "Otherwise the text body is sent as written.",
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


class AttachmentForm(forms.Form):
    file = forms.FileField(label="File")


class PreviewForm(forms.Form):
    recipient = forms.IntegerField(required=False)
    email = forms.CharField(required=False, max_length=254)
    width = forms.ChoiceField(choices=(("desktop", "Desktop"), ("phone", "Phone")), required=False)


MAX_TEST_ADDRESSES = 10


class TestSendForm(forms.Form):
    """The addresses of a test send (the lead adds the sending account field where it is used).

    `cleaned_data["addresses"]` is a list of 1 to 10 distinct, valid addresses.
    """

    addresses = forms.CharField(
        label="Send a test to",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"Up to {MAX_TEST_ADDRESSES} addresses, separated by commas or new lines.",
    )

    def clean_addresses(self) -> list[str]:
        raw = self.cleaned_data["addresses"]
        found = list(dict.fromkeys(a for a in re.split(r"[\s,;]+", raw) if a))
        if not found:
            raise ValidationError("Enter at least one address.")
        if len(found) > MAX_TEST_ADDRESSES:
            raise ValidationError(f"A test goes to at most {MAX_TEST_ADDRESSES} addresses.")
        bad = [a for a in found if not _valid_email(a)]
        if bad:
            raise ValidationError(f"Not an e-mail address: {', '.join(bad)}")
        return found


def _valid_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True
