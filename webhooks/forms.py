from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from webhooks import events as catalogue

# The descriptions are kept in English in the catalogue (the API lists them as they are) and
# translated here, where the page shows them.
EVENT_CHOICES = [
    (catalogue.ALL, _("Every event, including types added later")),
    *((t, format_lazy("{} — {}", t, _(d))) for t, d in catalogue.EVENT_TYPES.items()),
]


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text=_("Where Postroom POSTs events: https, on a public address."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        help_text=_("What receives them, e.g. “CRM sync”."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=[catalogue.ALL],
        help_text=_("Delivery events come in batches of up to 100 per request."),
    )
