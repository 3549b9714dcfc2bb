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
from campaigns.ab_tests import AbTestSetup, ab_test_setup_of
from campaigns.editing import CampaignData, campaign_problems
from campaigns.models import (
    DEFAULT_LIFETIME_DAYS,
    LIFETIME_DAYS_MAX,
    AbCriterion,
    AbTestKind,
    AttemptOutcome,
    Campaign,
    ScheduleMode,
)
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
            raise forms.ValidationError(_("Enter a date and time."), code="invalid")
        return None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(self.zone).strftime(LOCAL_FORMAT)
        return value


TRACKING_CHOICES = [("", _("As the workspace")), ("on", _("On")), ("off", _("Off"))]


def _translated(choices: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    """Model choices whose labels are marked with gettext_noop, translated when shown."""
    return [(value, _(label)) for value, label in choices]


def _tracking(value: str) -> bool | None:
    return {"on": True, "off": False}.get(value)


def _choice(value: bool | None) -> str:
    return "" if value is None else ("on" if value else "off")


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    template = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label=_("Template")
    )
    lists = forms.ModelMultipleChoiceField(
        RecipientList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Lists"),
    )
    segments = forms.ModelMultipleChoiceField(
        Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Segments"),
    )
    picked = forms.CharField(required=False, widget=forms.HiddenInput)
    drop_picked = forms.BooleanField(required=False, label=_("Leave the picked recipients out"))
    accounts = forms.ModelMultipleChoiceField(
        SendingAccount.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Sending accounts"),
    )
    schedule_mode = forms.ChoiceField(
        choices=_translated(ScheduleMode.choices),
        widget=forms.RadioSelect,
        initial=ScheduleMode.NOW,
        label=_("Schedule mode"),
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
    lifetime_days = forms.IntegerField(
        min_value=1, max_value=LIFETIME_DAYS_MAX, initial=DEFAULT_LIFETIME_DAYS, required=False,
        label=_("Give up after (days)"),
        help_text=_(
            "Counted from the start: what is not sent by then ends expired, so that no one "
            "gets stale news days late. Accounts warming up may need longer."
        ),
    )  # fmt: skip

    archived = forms.BooleanField(
        required=False,
        label=_("Show in the public archive"),
        help_text=_(
            "Once sent, the campaign appears on the workspace's public archive page (when the "
            "archive is on in the settings), with sample values instead of anyone's data."
        ),
    )
    archive_values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Archive values"),
        help_text=_(
            'Placeholder values the archive shows, as JSON, e.g. {"first_name": "Reader"}; '
            "placeholders not given show the template's sample values."
        ),
    )

    # The A/B test: its section of the editor. Its limits are checked by the service, so
    # that the form and the API say the same thing.
    ab_enabled = forms.BooleanField(required=False, label=_("Test variants first (A/B test)"))
    ab_kind = forms.ChoiceField(
        choices=_translated(AbTestKind.choices),
        initial=AbTestKind.SUBJECT,
        required=False,
        label=_("What varies"),
    )
    ab_values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Variants, one per line (2 to 5)"),
    )
    ab_test_percent = forms.IntegerField(
        initial=20, required=False, label=_("Test share of the audience (%)")
    )
    ab_criterion = forms.ChoiceField(
        choices=_translated(AbCriterion.choices),
        initial=AbCriterion.OPENS,
        required=False,
        label=_("The winner is the variant with the most"),
    )
    ab_wait_hours = forms.IntegerField(
        initial=4, required=False, label=_("Choose the winner after (hours)")
    )
    # Whole content: a template per variant from B on (A is the campaign's template); the
    # choices and labels are set per form (the workspace's templates, the reader's language).
    ab_template_1 = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    ab_template_2 = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    ab_template_3 = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    ab_template_4 = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)

    AUDIENCE_FIELDS = ("lists", "segments", "picked", "drop_picked")
    AB_FIELDS = ("ab_kind", "ab_values", "ab_test_percent", "ab_criterion", "ab_wait_hours")
    AB_TEMPLATE_FIELDS = ("ab_template_1", "ab_template_2", "ab_template_3", "ab_template_4")
    # Problems of a whole-content test shown by the field the person can change.
    AB_PROBLEM_FIELDS = {"ab_templates": "ab_template_1", "ab_template_0": "template"}

    def __init__(
        self, *args: Any, workspace: Workspace, fixed_audience: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # A resend's recipients were fixed when it was made: no audience to choose.
        self.fixed_audience = fixed_audience
        zone = workspace.zone
        self.fields["scheduled_at"] = LocalDateTimeField(
            zone=zone,
            required=False,
            label=_("Send at / window start (%(zone)s)") % {"zone": workspace.time_zone},
        )
        self.fields["window_end"] = LocalDateTimeField(
            zone=zone,
            required=False,
            label=_("Window end (%(zone)s)") % {"zone": workspace.time_zone},
        )
        templates = Template.objects.filter(workspace=workspace).order_by("name")
        template_field = self.fields["template"]
        assert isinstance(template_field, forms.ChoiceField)  # noqa: S101 - declared above
        template_field.choices = [
            ("", _("Choose a template")),
            *templates.values_list("pk", "name"),
        ]
        for position, name in enumerate(self.AB_TEMPLATE_FIELDS, start=1):
            variant_field = self.fields[name]
            assert isinstance(variant_field, forms.ChoiceField)  # noqa: S101 - declared above
            variant_field.choices = [("", "—"), *templates.values_list("pk", "name")]
            variant_field.label = _("Content of variant %(label)s") % {"label": "ABCDE"[position]}
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
            "lifetime_days": campaign.lifetime_days,
            "archived": campaign.archived,
            "archive_values": (
                json.dumps(campaign.archive_values, ensure_ascii=False)
                if campaign.archive_values
                else ""
            ),
            **cls._ab_initial(ab_test_setup_of(campaign)),
        }

    @classmethod
    def _ab_initial(cls, setup: AbTestSetup | None) -> dict[str, Any]:
        if setup is None:
            return {"ab_enabled": False}
        return {
            "ab_enabled": True,
            "ab_kind": setup.kind,
            "ab_values": "\n".join(setup.values),
            "ab_test_percent": setup.test_percent,
            "ab_criterion": setup.criterion,
            "ab_wait_hours": setup.wait_hours,
            **dict(zip(cls.AB_TEMPLATE_FIELDS, setup.template_ids[1:], strict=False)),
        }

    def _ab_setup(self) -> AbTestSetup | None:
        c = self.cleaned_data
        if not c.get("ab_enabled"):
            return None
        lines = (c.get("ab_values") or "").splitlines()
        kind = c.get("ab_kind") or AbTestKind.SUBJECT
        content = kind == AbTestKind.CONTENT
        picked = [c[name] for name in self.AB_TEMPLATE_FIELDS if c.get(name) is not None]
        return AbTestSetup(
            kind=kind,
            values=[] if content else [line.strip() for line in lines if line.strip()],
            template_ids=[c.get("template") or 0, *picked] if content else [],
            test_percent=c["ab_test_percent"] if c.get("ab_test_percent") is not None else 20,
            criterion=c.get("ab_criterion") or AbCriterion.OPENS,
            wait_hours=c["ab_wait_hours"] if c.get("ab_wait_hours") is not None else 4,
        )

    def clean_picked(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("picked") or ""
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("The picked recipients could not be read.")) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The picked recipients could not be read."))
        return value

    def clean_archive_values(self) -> Any:
        raw = (self.cleaned_data.get("archive_values") or "").strip()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(
                _('Write the values as JSON, e.g. {"first_name": "Reader"}.')
            ) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        for name, message in campaign_problems(self.workspace, self.data_(), timezone.now()):
            name = self.AB_PROBLEM_FIELDS.get(name, name)
            self.add_error(name if name in self.fields else None, _(message))
        picked = cleaned.get("picked") and not cleaned.get("drop_picked")
        if self.fixed_audience:
            return cleaned
        if not (cleaned.get("lists") or cleaned.get("segments") or picked):
            self.add_error(
                None, _("Choose who receives it: a list, a segment or picked recipients.")
            )
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
            lifetime_days=c.get("lifetime_days") or DEFAULT_LIFETIME_DAYS,
            archived=bool(c.get("archived")),
            archive_values=c.get("archive_values") or {},
            ab_test=self._ab_setup(),
            ab_test_given=True,
        )


class SingleEmailForm(forms.Form):
    """djangoMailer's "queue single email": a recipient (by address), a template, an account."""

    email = forms.EmailField(label=_("Recipient's e-mail"))
    template = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label=_("Template")
    )
    account = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label=_("Sending account")
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["send_at"] = LocalDateTimeField(
            zone=workspace.zone,
            required=False,
            label=_("Send at (%(zone)s); empty: now") % {"zone": workspace.time_zone},
        )
        templates = Template.objects.filter(workspace=workspace).order_by("name")
        accounts = SendingAccount.objects.filter(workspace=workspace, status=AccountStatus.ACTIVE)
        for name, rows, blank in (
            ("template", templates.values_list("pk", "name"), _("Choose a template")),
            ("account", accounts.values_list("pk", "name"), _("Choose an account")),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
            field.choices = [("", blank), *rows]

    def clean_email(self) -> Recipient:
        email = self.cleaned_data["email"].strip().lower()
        recipient = Recipient.objects.filter(workspace=self.workspace, email__iexact=email).first()
        if recipient is None:
            raise forms.ValidationError(_("No recipient has this address: add them first."))
        return recipient


class LogFilterForm(forms.Form):
    """The log's filters; dates are local days of the workspace, `until` included."""

    # Any id is accepted (single e-mails are not in the menu); the log selector stays inside
    # the workspace, so a foreign id only finds nothing.
    campaign = forms.IntegerField(required=False, widget=forms.Select)
    outcome = forms.ChoiceField(
        choices=[("", _("Any outcome")), *_translated(AttemptOutcome.choices)], required=False
    )
    account = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    # A whole address finds that address alone, at once; a part is matched anywhere.
    email = forms.CharField(
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"placeholder": _("An address, or a part of one")}),
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaigns = Campaign.objects.filter(workspace=workspace, is_single=False)
        accounts = SendingAccount.objects.filter(workspace=workspace)
        menu: list[tuple[Any, Any]] = [
            ("", _("Any campaign")),
            *campaigns.values_list("pk", "name")[:500],
        ]
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
        account.choices = [("", _("Any account")), *accounts.values_list("pk", "name")]
