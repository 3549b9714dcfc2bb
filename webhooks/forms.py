from __future__ import annotations

from django import forms

from webhooks import events as catalogue

EVENT_CHOICES = [
    (catalogue.ALL, "Every event, including types added later"),
    *((t, f"{t} — {d}") for t, d in catalogue.EVENT_TYPES.items()),
]


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where Postroom POSTs events: https, on a public address.",
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="What receives them, e.g. “CRM sync”."
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=[catalogue.ALL],
        help_text="Delivery events come in batches of up to 100 per request.",
    )
