"""Forms of the campaign pages. Choices come from the current workspace only.

Date-times are typed in the workspace's time zone (an `<input type="datetime-local">` has none)
and stored in UTC.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from audience.models import Recipient, RecipientList, Segment
from campaigns.editing import CampaignData, campaign_problems
from campaigns.models import AttemptOutcome, Campaign, ScheduleMode
from content.models import Template
from core.digits import is_number
from sending.models import AccountStatus, SendingAccount

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input read in the zone given at construction."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)
    input_formats = [LOCAL_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]

    def __init__(self, *, zone: ZoneInfo, **kwargs: Any) -> None:
        self.zone = zone
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and value.strip():
            for fmt in self.input_formats:
                try:
                    naive = datetime.strptime(value.strip(), fmt)  # noqa: DTZ007 - zone below
                except ValueError:
                    continue
                return naive.replace(tzinfo=self.zone)
            raise forms.ValidationError("Enter a date and time.", code="invalid")
        return None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime(LOCAL_FORMAT)
        return value


TRACKING_CHOICES = [("", _("As the workspace")), ("on", _("On")), ("off", _("Off"))]


def _tracking(value: str) -> bool | None:
    return {"on": True, "off": False}.get(value)


def _choice(value: bool | None) -> str:
    return "" if value is None else ("on" if value else "off")


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    template = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    lists = forms.ModelMultipleChoiceField(
        RecipientList.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    segments = forms.ModelMultipleChoiceField(
        Segment.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    picked = forms.CharField(required=False, widget=forms.HiddenInput)
    drop_picked = forms.BooleanField(required=False, label="Leave the picked recipients out")
    accounts = forms.ModelMultipleChoiceField(
        SendingAccount.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Sending accounts",
    )
    schedule_mode = forms.ChoiceField(
        choices=ScheduleMode.choices, widget=forms.RadioSelect, initial=ScheduleMode.NOW
    )
    track_opens = forms.TypedChoiceField(
        choices=TRACKING_CHOICES, coerce=_tracking, empty_value=None, required=False,
        label=_("Track opens"),
    )  # fmt: skip
    track_clicks = forms.TypedChoiceField(
        choices=TRACKING_CHOICES, coerce=_tracking, empty_value=None, required=False,
        label=_("Track clicks"),
    )  # fmt: skip
    utm_source = forms.CharField(max_length=100, required=False, label=_("UTM source"))
    utm_medium = forms.CharField(max_length=100, required=False, label=_("UTM medium"))
    utm_campaign = forms.CharField(max_length=100, required=False, label=_("UTM campaign"))

    AUDIENCE_FIELDS = ("lists", "segments", "picked", "drop_picked")

    def __init__(
        self, *args: Any, workspace: Workspace, fixed_audience: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # A resend's recipients were fixed when it was made: no audience to choose.
        self.fixed_audience = fixed_audience
        zone = workspace.zone
        self.fields["scheduled_at"] = LocalDateTimeField(
            zone=zone, required=False, label=f"Send at / window start ({workspace.time_zone})"
        )
        self.fields["window_end"] = LocalDateTimeField(
            zone=zone, required=False, label=f"Window end ({workspace.time_zone})"
        )
        templates = Template.objects.filter(workspace=workspace).order_by("name")
        template_field = self.fields["template"]
        assert isinstance(template_field, forms.ChoiceField)  # noqa: S101 - declared above
        template_field.choices = [("", "Choose a template"), *templates.values_list("pk", "name")]
        self._queryset("lists", RecipientList.objects.filter(workspace=workspace))
        self._queryset("segments", Segment.objects.filter(workspace=workspace))
        self._queryset(
            "accounts",
            SendingAccount.objects.filter(workspace=workspace, status=AccountStatus.ACTIVE),
        )
        if fixed_audience:
            for name in self.AUDIENCE_FIELDS:
                del self.fields[name]

    def _queryset(self, name: str, qs: Any) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101 - declared above
        field.queryset = qs

    @classmethod
    def initial_of(cls, campaign: Campaign) -> dict[str, Any]:
        return {
            "name": campaign.name,
            "template": campaign.template_id,
            "lists": list(campaign.lists.all()),
            "segments": list(campaign.segments.all()),
            "picked": json.dumps(campaign.picked) if campaign.picked else "",
            "accounts": list(campaign.accounts.all()),
            "schedule_mode": campaign.schedule_mode,
            "scheduled_at": campaign.scheduled_at,
            "window_end": campaign.window_end,
            "track_opens": _choice(campaign.track_opens),
            "track_clicks": _choice(campaign.track_clicks),
            "utm_source": campaign.utm_source,
            "utm_medium": campaign.utm_medium,
            "utm_campaign": campaign.utm_campaign,
        }

    def clean_picked(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("picked") or ""
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError("The picked recipients could not be read.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The picked recipients could not be read.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        for name, message in campaign_problems(self.workspace, self.data_(), timezone.now()):
            self.add_error(name if name in self.fields else None, message)
        picked = cleaned.get("picked") and not cleaned.get("drop_picked")
        if self.fixed_audience:
            return cleaned
        if not (cleaned.get("lists") or cleaned.get("segments") or picked):
            self.add_error(None, "Choose who receives it: a list, a segment or picked recipients.")
        return cleaned

    def data_(self) -> CampaignData:
        """The cleaned choices as the editing services take them."""
        c = self.cleaned_data
        return CampaignData(
            name=c.get("name", ""),
            template_id=c.get("template"),
            account_ids=[a.pk for a in c.get("accounts") or []],
            list_ids=[rl.pk for rl in c.get("lists") or []],
            segment_ids=[s.pk for s in c.get("segments") or []],
            picked={} if c.get("drop_picked") else (c.get("picked") or {}),
            schedule_mode=c.get("schedule_mode") or ScheduleMode.NOW,
            scheduled_at=c.get("scheduled_at"),
            window_end=c.get("window_end"),
            track_opens=c.get("track_opens"),
            track_clicks=c.get("track_clicks"),
            utm_source=c.get("utm_source", ""),
            utm_medium=c.get("utm_medium", ""),
            utm_campaign=c.get("utm_campaign", ""),
        )


class SingleEmailForm(forms.Form):
    """djangoMailer's "queue single email": a recipient (by address), a template, an account."""

    email = forms.EmailField(label="Recipient's e-mail")
    template = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    account = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Sending account"
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["send_at"] = LocalDateTimeField(
            zone=workspace.zone,
            required=False,
            label=f"Send at ({workspace.time_zone}); empty: now",
        )
        templates = Template.objects.filter(workspace=workspace).order_by("name")
        accounts = SendingAccount.objects.filter(workspace=workspace, status=AccountStatus.ACTIVE)
        for name, rows, blank in (
            ("template", templates.values_list("pk", "name"), "Choose a template"),
            ("account", accounts.values_list("pk", "name"), "Choose an account"),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
            field.choices = [("", blank), *rows]

    def clean_email(self) -> Recipient:
        email = self.cleaned_data["email"].strip().lower()
        recipient = Recipient.objects.filter(workspace=self.workspace, email__iexact=email).first()
        if recipient is None:
            raise forms.ValidationError("No recipient has this address: add them first.")
        return recipient


class LogFilterForm(forms.Form):
    """The log's filters; dates are local days of the workspace, `until` included."""

    # Any id is accepted (single e-mails are not in the menu); the log selector stays inside
    # the workspace, so a foreign id only finds nothing.
    campaign = forms.IntegerField(required=False, widget=forms.Select)
    outcome = forms.ChoiceField(
        choices=[("", "Any outcome"), *AttemptOutcome.choices], required=False
    )
    account = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    email = forms.CharField(required=False, max_length=254)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaigns = Campaign.objects.filter(workspace=workspace, is_single=False)
        accounts = SendingAccount.objects.filter(workspace=workspace)
        menu = [("", "Any campaign"), *campaigns.values_list("pk", "name")[:500]]
        picked = self.data.get("campaign") if self.is_bound else None
        if picked and is_number(picked) and int(picked) not in {pk for pk, _ in menu[1:]}:
            single = Campaign.objects.filter(workspace=workspace, pk=int(picked)).first()
            if single is not None:
                menu.append((single.pk, single.name))
        widget = self.fields["campaign"].widget
        assert isinstance(widget, forms.Select)  # noqa: S101 - declared above
        widget.choices = menu
        account = self.fields["account"]
        assert isinstance(account, forms.ChoiceField)  # noqa: S101 - declared above
        account.choices = [("", "Any account"), *accounts.values_list("pk", "name")]
