"""What the campaign API reads and writes: campaigns, their schedule, figures, deliveries,
attempts, single e-mails and the dashboard.

Output serializers only read; input serializers only check the shape of the request and turn it
into the services' own data (`CampaignData`). The rules (states, templates that compile, active
accounts, times in the future) are the services', so the API keeps the same ones as the UI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import Workspace
from audience.models import RecipientList, RecipientStatus, Segment
from audience.segments import SegmentError
from audience.selectors import RecipientFilter, recipients_matching
from campaigns.ab_tests import AbTestSetup
from campaigns.archive import ArchiveValuesError, clean_archive_values
from campaigns.editing import CampaignData
from campaigns.models import (
    DEFAULT_LIFETIME_DAYS,
    LIFETIME_DAYS_MAX,
    AbCriterion,
    AbTest,
    AbTestKind,
    AbTestState,
    Attempt,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ScheduleMode,
    Variant,
)
from campaigns.selectors import current_counts
from campaigns.transitions import EDITABLE, allowed_actions
from content.models import Template
from core.api.fields import RelatedIds
from core.api.params import id_field
from core.api.representation import QuickRows
from sending.models import SendingAccount

# Recipients picked by id in one campaign: as many as one bulk upsert of the audience API.
MAX_PICKED = 10_000

# The API's name of each transition (the UI's "start" button is `send/`).
API_ACTIONS = {
    "start": "send",
    "unschedule": "unschedule",
    "pause": "pause",
    "resume": "resume",
    "cancel": "cancel",
}


def api_actions(campaign: Campaign) -> list[str]:
    """The actions the campaign allows now, by their API names; a draft or scheduled one can
    also be (re)scheduled."""
    disabled = campaign.disabled_at is not None
    actions = [
        API_ACTIONS[a]
        for a in allowed_actions(campaign.status, disabled=disabled)
        if a in API_ACTIONS
    ]
    if campaign.status in EDITABLE and not disabled:
        actions.insert(1, "schedule")
    return actions


def _counts_serializer() -> type[serializers.Serializer[Any]]:
    fields = {
        # markup-safe: the labels of DeliveryStatus, fixed in the source
        value: serializers.IntegerField(help_text=f"Deliveries {label.lower()}.")
        for value, label in DeliveryStatus.choices
    }
    return type("DeliveryCountsSerializer", (serializers.Serializer,), fields)


DeliveryCountsSerializer = _counts_serializer()


def full_counts(counts: dict[str, int]) -> dict[str, int]:
    """Every delivery status with its count, zero included, so clients need no defaults."""
    return {value: counts.get(value, 0) for value in DeliveryStatus.values}


# --------------------------------------------------------------------------- campaigns


@extend_schema_serializer(component_name="CampaignPicked")
class PickedSerializer(serializers.Serializer[dict[str, Any]]):
    """Recipients picked in the recipients table: ticked ids, or a filter that takes all that
    match it ("all that match"); every part given must hold."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=254)
    status = serializers.ChoiceField(RecipientStatus.choices, required=False, allow_blank=True)
    list_id = id_field(required=False, allow_null=True)
    segment_id = id_field(required=False, allow_null=True)
    field = serializers.CharField(required=False, allow_blank=True, max_length=100)
    op = serializers.CharField(required=False, allow_blank=True, max_length=20)
    value = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    ids = serializers.ListField(child=id_field(), required=False, max_length=MAX_PICKED)


class AbTestInSerializer(serializers.Serializer[AbTestSetup]):
    """A campaign's A/B test: 2 to 5 variants of its subject, From name or whole content,
    sent to an even split of `test_percent` of the audience; after `wait_hours` the variant
    with the most people who did `criterion` goes to the rest."""

    kind = serializers.ChoiceField(AbTestKind.choices)
    variants = serializers.ListField(
        child=serializers.CharField(max_length=998, allow_blank=True),
        required=False,
        default=list,
        help_text="Each variant's subject or From name, A first (not for kind content).",
    )
    template_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=10,
        help_text=(
            "Kind content: each variant's template, A first; A is the campaign's own "
            "template, the others templates of the workspace."
        ),
    )
    test_percent = serializers.IntegerField(default=20, help_text="1 to 99.")
    criterion = serializers.ChoiceField(AbCriterion.choices, default=AbCriterion.OPENS)
    wait_hours = serializers.IntegerField(default=4, help_text="1 to 168.")


class VariantOutSerializer(serializers.Serializer[Any]):
    variant = serializers.CharField(help_text="The variant's letter, A to E.")
    value = serializers.CharField(help_text="Its subject or From name; its template's name.")
    template_id = serializers.IntegerField(
        allow_null=True, help_text="Kind content: the variant's template; null otherwise."
    )


class AbTestOutSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    variants = VariantOutSerializer(many=True)
    test_percent = serializers.IntegerField()
    criterion = serializers.CharField()
    wait_hours = serializers.IntegerField()
    state = serializers.ChoiceField(AbTestState.choices)
    winner = serializers.CharField(allow_null=True, help_text="The winning variant's label.")
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by_hand = serializers.BooleanField()


def variant_template_id(campaign: Campaign, kind: str, variant: Variant) -> int | None:
    """A whole-content variant's template (A's is the campaign's); None for other kinds."""
    if kind != AbTestKind.CONTENT:
        return None
    return variant.template_id if variant.position > 0 else campaign.template_id


def ab_test_body(campaign: Campaign) -> dict[str, Any] | None:
    """The campaign's A/B test as the API shows it; None without one (the list reads the
    tests and variants of a page at once: CampaignResource.workspace_queryset)."""
    try:
        test = campaign.ab_test
    except AbTest.DoesNotExist:
        return None
    variants = sorted(campaign.variants.all(), key=lambda v: v.position)
    return {
        "kind": test.kind,
        "variants": [
            {
                "variant": v.label,
                "value": v.value,
                "template_id": variant_template_id(campaign, test.kind, v),
            }
            for v in variants
        ],
        "test_percent": test.test_percent,
        "criterion": test.criterion,
        "wait_hours": max(1, test.wait_seconds // 3600),
        "state": test.state,
        "winner": test.winner.label if test.winner else None,
        "decided_at": test.decided_at,
        "decided_by_hand": test.decided_by_hand,
    }


class CampaignSerializer(QuickRows, serializers.ModelSerializer[Campaign]):
    list_ids = RelatedIds("lists")
    segment_ids = RelatedIds("segments")
    account_ids = RelatedIds("accounts")
    picked = serializers.SerializerMethodField()
    send_at = serializers.SerializerMethodField()
    window_start = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    lifetime_days = serializers.IntegerField(read_only=True)
    ab_test = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = (
            "id",
            "name",
            "status",
            "status_reason",
            "status_changed_at",
            "disabled_at",
            "disabled_reason",
            "allowed_actions",
            "is_single",
            "resent_from",
            "resend_kind",
            "subject",
            "template_id",
            "list_ids",
            "segment_ids",
            "picked",
            "account_ids",
            "schedule_mode",
            "send_at",
            "window_start",
            "window_end",
            "lifetime_days",
            "archived",
            "archive_values",
            "ab_test",
            "counts",
            "total",
            "audience_total",
            "excluded_suppressed",
            "excluded_unsubscribed",
            "excluded_duplicates",
            "created_at",
            "launched_at",
            "finished_at",
        )
        read_only_fields = fields

    @extend_schema_field(AbTestOutSerializer(allow_null=True))
    def get_ab_test(self, obj: Campaign) -> dict[str, Any] | None:
        return ab_test_body(obj)

    @extend_schema_field(PickedSerializer)
    def get_picked(self, obj: Campaign) -> dict[str, Any]:
        return dict(obj.picked or {})

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_send_at(self, obj: Campaign) -> datetime | None:
        return obj.scheduled_at if obj.schedule_mode == ScheduleMode.AT else None

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_window_start(self, obj: Campaign) -> datetime | None:
        return obj.scheduled_at if obj.schedule_mode == ScheduleMode.WINDOW else None

    def get_allowed_actions(self, obj: Campaign) -> list[str]:
        return api_actions(obj)

    def _counts(self, obj: Campaign) -> dict[str, int]:
        # The list view reads the counts of a whole page in one GROUP BY and passes them in.
        page_counts: dict[int, dict[str, int]] | None = self.context.get("counts")
        if page_counts is None:
            page_counts = current_counts([obj])
            self.context["counts"] = page_counts
        return page_counts.get(obj.pk, {})

    @extend_schema_field(DeliveryCountsSerializer)
    def get_counts(self, obj: Campaign) -> dict[str, int]:
        return full_counts(self._counts(obj))

    def get_total(self, obj: Campaign) -> int:
        """Deliveries created by the launch (0 before it)."""
        return sum(self._counts(obj).values())


def _ids_in(qs: QuerySet[Any], ids: list[int]) -> list[int]:
    """The ids of `ids` that `qs` does not hold (another workspace's, or none at all)."""
    found = set(qs.filter(pk__in=ids).values_list("pk", flat=True))
    return sorted(set(ids) - found)


@extend_schema_serializer(component_name="CampaignWrite")
class CampaignWriteSerializer(serializers.Serializer[CampaignData]):
    """A campaign as the editor makes it. The audience is the union of `list_ids`,
    `segment_ids` and `picked`; at least one must be given."""

    name = serializers.CharField(max_length=200)
    template_id = id_field(allow_null=True)
    list_ids = serializers.ListField(child=id_field(), required=False)
    segment_ids = serializers.ListField(child=id_field(), required=False)
    picked = PickedSerializer(required=False, allow_null=True)
    account_ids = serializers.ListField(
        child=id_field(), help_text="Active sending accounts to send through."
    )
    schedule_mode = serializers.ChoiceField(ScheduleMode.choices, required=False)
    send_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="With schedule_mode `at`."
    )
    window_start = serializers.DateTimeField(
        required=False, allow_null=True, help_text="With schedule_mode `window`."
    )
    window_end = serializers.DateTimeField(
        required=False, allow_null=True, help_text="With schedule_mode `window`."
    )
    lifetime_days = serializers.IntegerField(
        required=False, min_value=1, max_value=LIFETIME_DAYS_MAX,
        help_text=f"Days after the start when what is not sent yet ends `expired` (default "
        f"{DEFAULT_LIFETIME_DAYS}).",
    )  # fmt: skip

    archived = serializers.BooleanField(
        required=False,
        help_text="Show the campaign in the workspace's public archive once sent (default "
        "false). Alone in a PATCH it may change in any state.",
    )
    archive_values = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Placeholder values the archive shows instead of the template's sample "
        'values, e.g. {"first_name": "Reader"}; never a recipient\'s.',
    )
    ab_test = AbTestInSerializer(
        required=False,
        allow_null=True,
        help_text="An A/B test; null removes it. Left out, a PATCH keeps the campaign's.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        workspace: Workspace = self.context["workspace"]
        errors: dict[str, list[str]] = {}
        if "archive_values" in attrs:
            try:
                attrs["archive_values"] = clean_archive_values(workspace, attrs["archive_values"])
            except ArchiveValuesError as exc:
                errors["archive_values"] = [str(exc)]
        checks = (
            ("list_ids", RecipientList.objects.filter(workspace=workspace)),
            ("segment_ids", Segment.objects.filter(workspace=workspace)),
            ("account_ids", SendingAccount.objects.filter(workspace=workspace)),
        )
        for name, qs in checks:
            unknown = _ids_in(qs, attrs.get(name) or [])
            if unknown:
                errors[name] = [f"These do not exist in this workspace: {unknown}."]
        template_id = attrs.get("template_id")
        if template_id and _ids_in(Template.objects.filter(workspace=workspace), [template_id]):
            errors["template_id"] = ["This template does not exist in this workspace."]
        if "picked" in attrs:
            attrs["picked"] = self._picked(workspace, attrs["picked"], errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    @staticmethod
    def _picked(
        workspace: Workspace, raw: dict[str, Any] | None, errors: dict[str, list[str]]
    ) -> dict[str, Any]:
        flt = RecipientFilter.from_params(raw or {})
        if flt.is_empty:
            return {}
        try:
            recipients_matching(workspace, flt)  # compiles the filter's condition
        except SegmentError as exc:
            errors["picked"] = [str(exc)]
        return flt.as_params()

    def campaign_data(self, base: CampaignData | None = None) -> CampaignData:
        """The request as the services' data; with `base` (PATCH), parts not sent are kept."""
        v = self.validated_data
        data = base or CampaignData(name="", template_id=None, account_ids=[])
        data.name = v.get("name", data.name)
        data.template_id = v.get("template_id", data.template_id)
        data.account_ids = v.get("account_ids", data.account_ids)
        data.list_ids = v.get("list_ids", data.list_ids)
        data.segment_ids = v.get("segment_ids", data.segment_ids)
        data.picked = v.get("picked", data.picked) or {}
        data.lifetime_days = v.get("lifetime_days", data.lifetime_days)
        data.archived = v.get("archived", data.archived)
        data.archive_values = v.get("archive_values", data.archive_values)
        if "ab_test" in v:
            given = v["ab_test"]
            data.ab_test_given = True
            data.ab_test = (
                None
                if given is None
                else AbTestSetup(
                    kind=given["kind"],
                    values=list(given["variants"]),
                    template_ids=list(given["template_ids"]),
                    test_percent=given["test_percent"],
                    criterion=given["criterion"],
                    wait_hours=given["wait_hours"],
                )
            )
        mode = v.get("schedule_mode", data.schedule_mode)
        if mode != data.schedule_mode or base is None:
            data.scheduled_at = data.window_end = None
        data.schedule_mode = mode
        if mode == ScheduleMode.AT:
            data.scheduled_at = v.get("send_at", data.scheduled_at)
        elif mode == ScheduleMode.WINDOW:
            data.scheduled_at = v.get("window_start", data.scheduled_at)
            data.window_end = v.get("window_end", data.window_end)
        return data


# The services name the fields of their problems after the editor's form; the API's names:
PROBLEM_FIELDS = {
    "template": "template_id",
    "ab_kind": "ab_test",
    "ab_values": "ab_test",
    "ab_test_percent": "ab_test",
    "ab_criterion": "ab_test",
    "ab_wait_hours": "ab_test",
    "accounts": "account_ids",
    "audience": "non_field_errors",
}


def problem_field(name: str, schedule_mode: str) -> str:
    if name.startswith("ab_template"):  # a whole-content variant's template
        return "ab_test"
    if name == "scheduled_at":
        return "window_start" if schedule_mode == ScheduleMode.WINDOW else "send_at"
    return PROBLEM_FIELDS.get(name, name)


@extend_schema_serializer(component_name="CampaignScheduleInput")
class ScheduleSerializer(serializers.Serializer[dict[str, Any]]):
    """Either `send_at`, or a window: `window_start` and `window_end`."""

    send_at = serializers.DateTimeField(required=False)
    window_start = serializers.DateTimeField(required=False)
    window_end = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        window = "window_start" in attrs or "window_end" in attrs
        if "send_at" in attrs and window:
            raise serializers.ValidationError(_("Give send_at, or a window, not both."))
        if window:
            missing = [f for f in ("window_start", "window_end") if f not in attrs]
            if missing:
                raise serializers.ValidationError(
                    {f: ["A window needs both ends."] for f in missing}
                )
            return {
                "schedule_mode": ScheduleMode.WINDOW,
                "scheduled_at": attrs["window_start"],
                "window_end": attrs["window_end"],
            }
        if "send_at" not in attrs:
            raise serializers.ValidationError({"send_at": [_("Give send_at, or a window.")]})
        return {"schedule_mode": ScheduleMode.AT, "scheduled_at": attrs["send_at"]}


@extend_schema_serializer(component_name="CampaignEstimate")
class EstimateSerializer(serializers.Serializer[Any]):
    campaign_id = serializers.IntegerField()
    counted = serializers.ChoiceField(
        [("now", "now"), ("at_launch", "at launch")],
        help_text="`now` while the campaign can change; then as its launch counted.",
    )
    reachable = serializers.IntegerField(help_text="Recipients it sends to.")
    left_out = serializers.IntegerField()
    suppressed = serializers.IntegerField(help_text="On the suppression list.")
    unsubscribed = serializers.IntegerField(help_text="Unsubscribed, bounced or complained.")
    duplicates = serializers.IntegerField(help_text="Selected by more than one source.")


@extend_schema_serializer(component_name="CampaignStats")
class StatsSerializer(serializers.Serializer[Any]):
    """The progress the campaign page shows."""

    campaign_id = serializers.IntegerField()
    status = serializers.ChoiceField(CampaignStatus.choices)
    counts = DeliveryCountsSerializer()
    total = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="Queued, deferred or being sent.")
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    rate_per_minute = serializers.FloatField(
        help_text="Sent per minute over the last 5 minutes while running; once finished, the "
        "average of the whole run."
    )
    eta_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="Until the last message should go, within the accounts' limits (days "
        "included when daily limits hold the campaign back).",
    )
    eta_text = serializers.CharField(allow_blank=True)
    finishes_at = serializers.DateTimeField(allow_null=True)
    held = serializers.CharField(
        allow_blank=True,
        help_text="Why the running campaign sends nothing now and when it resumes, e.g. "
        '"daily limit of all accounts reached; resumes at 00:00 Europe/Berlin"; empty while '
        "it sends.",
    )
    resumes_at = serializers.DateTimeField(allow_null=True)


# --------------------------------------------------------------------------- deliveries


class AttemptSerializer(QuickRows, serializers.ModelSerializer[Attempt]):
    class Meta:
        model = Attempt
        fields = (
            "id",
            "campaign_id",
            "delivery_id",
            "account_id",
            "email",
            "outcome",
            "smtp_code",
            "enhanced_code",
            "reply",
            "message_id",
            "created_at",
        )
        read_only_fields = fields


class DeliverySerializer(QuickRows, serializers.ModelSerializer[Delivery]):
    attempt_count = serializers.IntegerField(source="attempts", read_only=True)

    class Meta:
        model = Delivery
        fields: tuple[str, ...] = (
            "id",
            "campaign_id",
            "recipient_id",
            "email",
            "status",
            "attempt_count",
            "next_attempt_at",
            "account_id",
            "message_id",
            "last_code",
            "last_enhanced_code",
            "last_reply",
            "sent_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = AttemptSerializer(source="attempt_set", many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = (*DeliverySerializer.Meta.fields, "attempts")
        read_only_fields = fields


@extend_schema_serializer(component_name="MessageQueueInput")
class MessageSerializer(serializers.Serializer[dict[str, Any]]):
    """One e-mail to one recipient of the workspace (named by address or id)."""

    email = serializers.EmailField(required=False)
    recipient_id = id_field(required=False)
    template_id = id_field()
    account_id = id_field()
    send_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Empty: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("email" in attrs) == ("recipient_id" in attrs):
            raise serializers.ValidationError(_("Give the recipient's email or recipient_id."))
        return attrs


@extend_schema_serializer(component_name="MessageQueued")
class MessageQueuedSerializer(serializers.Serializer[Any]):
    campaign_id = serializers.IntegerField()
    delivery_id = serializers.IntegerField(allow_null=True, help_text="Null until it starts.")
    email = serializers.EmailField()
    status = serializers.ChoiceField(CampaignStatus.choices)
    send_at = serializers.DateTimeField(allow_null=True)


# --------------------------------------------------------------------------- dashboard


@extend_schema_serializer(component_name="DashboardAccountUse")
class AccountUseSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    from_email = serializers.EmailField()
    status = serializers.CharField()
    sent_today = serializers.IntegerField()
    daily_limit = serializers.IntegerField()
    percent = serializers.IntegerField()


@extend_schema_serializer(component_name="DashboardOutcomes")
class OutcomeGroupsSerializer(serializers.Serializer[Any]):
    """Attempts grouped as the chart shows them."""

    sent = serializers.IntegerField()
    retried = serializers.IntegerField()
    failed = serializers.IntegerField()
    suppressed = serializers.IntegerField()


@extend_schema_serializer(component_name="DashboardSeries")
class SeriesSerializer(serializers.Serializer[Any]):
    sent = serializers.ListField(child=serializers.IntegerField())
    retried = serializers.ListField(child=serializers.IntegerField())
    failed = serializers.ListField(child=serializers.IntegerField())
    suppressed = serializers.ListField(child=serializers.IntegerField())


@extend_schema_serializer(component_name="Dashboard")
class DashboardSerializer(serializers.Serializer[Any]):
    recipients = serializers.IntegerField()
    templates = serializers.IntegerField()
    campaigns_total = serializers.IntegerField()
    campaigns_active = serializers.IntegerField()
    reached = serializers.IntegerField(
        help_text="Recipients with at least one message sent, counted every 10 minutes."
    )
    reached_at = serializers.DateTimeField(help_text="When `reached` was counted.")
    waiting = serializers.IntegerField(help_text="Messages queued or deferred now.")
    today = OutcomeGroupsSerializer()
    month = OutcomeGroupsSerializer(help_text="The last 30 days, today included.")
    days = serializers.ListField(child=serializers.DateField())
    series = SeriesSerializer(help_text="One count per day of `days`.")
    accounts = AccountUseSerializer(many=True)
    computed_at = serializers.DateTimeField()
