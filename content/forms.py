"""Forms of the template pages. They validate input; the services check the syntax and write."""

from __future__ import annotations

from django import forms

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
        help_texts = {"text_from_html": "Otherwise the text body is sent as written."}
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
