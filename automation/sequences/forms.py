"""The sequence pages' forms: they parse input into the services' data, nothing more."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from audience.models import CustomField, CustomFieldType, RecipientList
from automation.models import SequenceTrigger, StepCondition
from automation.sequences.services import DATE_OFFSET_MAX_DAYS, SequenceData, StepData
from content.models import Template
from sending.models import SendingAccount

UNITS = {"minutes": 60, "hours": 3600, "days": 24 * 3600, "weeks": 7 * 24 * 3600}


class SequenceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    trigger = forms.ChoiceField(
        label=_("Who is enrolled"),
        choices=[
            (SequenceTrigger.LIST_JOINED, _("Whoever joins a list")),
            (SequenceTrigger.DATE_FIELD, _("Whoever's date comes (a custom date field)")),
            (SequenceTrigger.API, _("Only those enrolled by the API")),
        ],
    )
    trigger_list = forms.ModelChoiceField(
        label=_("List"), queryset=RecipientList.objects.none(), required=False
    )
    date_field = forms.ModelChoiceField(
        label=_("Date field"), queryset=CustomField.objects.none(), required=False
    )
    date_offset_days = forms.IntegerField(
        label=_("Days from the date (0 on the day, -7 a week before, 1 the day after)"),
        min_value=-DATE_OFFSET_MAX_DAYS,
        max_value=DATE_OFFSET_MAX_DAYS,
        initial=0,
        required=False,
    )
    date_every_year = forms.BooleanField(
        label=_("Every year on the date's day and month (a birthday, an anniversary)"),
        required=False,
    )
    accounts = forms.ModelMultipleChoiceField(
        label=_("Send from"),
        queryset=SendingAccount.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    stop_on_click = forms.BooleanField(
        label=_("Stop for whoever clicks a link in one of its messages (the goal)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lists = RecipientList.objects.filter(workspace=workspace).order_by("name")
        accounts = SendingAccount.objects.filter(workspace=workspace).order_by("name")
        self.fields["trigger_list"].queryset = lists  # type: ignore[attr-defined]
        dates = CustomField.objects.filter(workspace=workspace, type=CustomFieldType.DATE)
        self.fields["date_field"].queryset = dates.order_by("label")  # type: ignore[attr-defined]
        self.fields["accounts"].queryset = accounts  # type: ignore[attr-defined]

    def data_for_service(self) -> SequenceData:
        data = self.cleaned_data
        return SequenceData(
            name=data["name"],
            trigger=data["trigger"],
            trigger_list=data["trigger_list"],
            accounts=list(data["accounts"]),
            stop_on_click=data["stop_on_click"],
            date_field=data["date_field"],
            date_offset_days=data["date_offset_days"] or 0,
            date_every_year=data["date_every_year"],
        )


class StepForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Template"), queryset=Template.objects.none())
    delay = forms.IntegerField(label=_("Wait"), min_value=0, max_value=100_000, initial=1)
    unit = forms.ChoiceField(
        label=_("Unit"),
        choices=[
            ("minutes", _("minutes")),
            ("hours", _("hours")),
            ("days", _("days")),
            ("weeks", _("weeks")),
        ],
        initial="days",
    )
    window_start = forms.TimeField(
        label=_("Send only from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    window_end = forms.TimeField(
        label=_("until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    condition = forms.ChoiceField(
        label=_("Send to"),
        choices=[
            (StepCondition.ALWAYS, _("Everyone")),
            (StepCondition.OPENED, _("Only who opened the previous message")),
            (StepCondition.NOT_OPENED, _("Only who did not open the previous message")),
            (StepCondition.CLICKED, _("Only who clicked a link in the previous message")),
            (StepCondition.NOT_CLICKED, _("Only who did not click the previous message")),
        ],
        required=False,
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        templates = Template.objects.filter(workspace=workspace).order_by("name")
        self.fields["template"].queryset = templates  # type: ignore[attr-defined]

    def data_for_service(self) -> StepData:
        data = self.cleaned_data
        return StepData(
            template=data["template"],
            delay_seconds=data["delay"] * UNITS[data["unit"]],
            window_start=data["window_start"],
            window_end=data["window_end"],
            condition=data["condition"] or StepCondition.ALWAYS,
        )


def step_initial(delay_seconds: int) -> dict[str, Any]:
    """The delay in the largest unit that divides it."""
    for unit in ("weeks", "days", "hours", "minutes"):
        if delay_seconds % UNITS[unit] == 0 and delay_seconds:
            return {"delay": delay_seconds // UNITS[unit], "unit": unit}
    return {"delay": delay_seconds // 60, "unit": "minutes"}
