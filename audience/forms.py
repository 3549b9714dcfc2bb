"""Forms of the audience pages. They parse input only; services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from audience.importer import DELIMITERS, ENCODINGS
from audience.models import VALUE_MAX_CHARS, CustomFieldType, RecipientStatus, SuppressionReason

STANDARD_LABELS = {
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "company": _("Company"),
    "country": _("Country"),
    "city": _("City"),
}


def _translated(choices: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    """Model choices whose labels are marked with gettext_noop, translated when shown."""
    return [(value, _(label)) for value, label in choices]


class RecipientForm(forms.Form):
    email = forms.CharField(max_length=254, label=_("E-mail"))
    first_name = forms.CharField(max_length=200, required=False, label=_("First name"))
    last_name = forms.CharField(max_length=200, required=False, label=_("Last name"))
    company = forms.CharField(max_length=200, required=False, label=_("Company"))
    country = forms.CharField(max_length=200, required=False, label=_("Country"))
    city = forms.CharField(max_length=200, required=False, label=_("City"))
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=VALUE_MAX_CHARS,
        label=_("Comment"),
    )
    status = forms.ChoiceField(choices=_translated(RecipientStatus.choices), label=_("Status"))

    def __init__(self, *args: Any, custom_fields: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for cf in custom_fields:
            name = f"field_{cf.key}"
            widget = None
            if cf.type == CustomFieldType.CHOICE:
                # The options as a menu, escaped like any widget (they were once help text, which
                # Django shows as HTML). The service still checks the value.
                widget = forms.Select(choices=_options(cf.choices, self.initial.get(name)))
            self.fields[name] = forms.CharField(
                required=False,
                max_length=VALUE_MAX_CHARS,
                label=f"{cf.label} ({_(cf.get_type_display()).lower()})",
                widget=widget,
            )

    def custom_raw(self) -> dict[str, str]:
        return {
            name[6:]: value
            for name, value in self.cleaned_data.items()
            if name.startswith("field_")
        }

    def standard_values(self) -> dict[str, str]:
        names = ("first_name", "last_name", "company", "country", "city", "comment", "status")
        return {name: self.cleaned_data[name] for name in names}


def _options(choices: list[str], current: Any) -> list[tuple[str, str]]:
    """A choice field's options, with its current value kept even if no option names it now."""
    options = [("", "—"), *((c, c) for c in choices)]
    if current not in (None, "") and str(current) not in choices:
        options.append((str(current), str(current)))
    return options


class ListForm(forms.Form):
    name = forms.CharField(max_length=120, label=_("Name"))
    description = forms.CharField(max_length=500, required=False, label=_("Description"))
    single_opt_in = forms.BooleanField(
        required=False,
        label=_("Single opt-in"),
        help_text=_("Sign-up forms add people at once, without a confirmation e-mail."),
    )


class CustomFieldForm(forms.Form):
    key = forms.CharField(max_length=63, label=_("Key"), help_text=_("Used in templates as {key}."))
    label = forms.CharField(max_length=120, required=False, label=_("Label"))
    type = forms.ChoiceField(choices=_translated(CustomFieldType.choices), label=_("Type"))
    choices = forms.CharField(
        required=False,
        label=_("Choices"),
        help_text=_("For a choice field: the options, separated by commas."),
    )

    def choice_list(self) -> list[str]:
        return [c for c in self.cleaned_data.get("choices", "").split(",") if c.strip()]


class SuppressionForm(forms.Form):
    email = forms.CharField(max_length=254, label=_("E-mail"))
    reason = forms.ChoiceField(
        choices=_translated(SuppressionReason.choices),
        initial=SuppressionReason.MANUAL,
        label=_("Reason"),
    )


class SuppressionImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file (addresses in the first column)"))


class UploadForm(forms.Form):
    # Empty files reach the importer, whose message says what to do about them.
    file = forms.FileField(label=_("CSV file"), allow_empty_file=True)
    # Detection is right for most files; these are for the rest (a semicolon file whose
    # header holds commas, a Latin-1 file taken for Windows-1252).
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        required=False,
        choices=[("", _("Detect automatically")), *_translated(list(ENCODINGS.items()))],
    )
    delimiter = forms.ChoiceField(
        label=_("Delimiter"),
        required=False,
        choices=[("", _("Detect automatically")), *_translated(list(DELIMITERS.items()))],
    )
