"""The calendar's small form: a new date and time for a scheduled campaign, without drag."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RescheduleForm(forms.Form):
    """A day and a wall-clock time, read in the workspace's zone by the view."""

    date = forms.DateField(
        label=_("Date"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    time = forms.TimeField(
        label=_("Time"),
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
