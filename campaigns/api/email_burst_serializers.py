"""What the Emailer System's clients send to and read from /api/email-burst/, mapped onto
campaigns (see campaigns/api/email_burst.py for how)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.utils import html

from accounts.models import Workspace
from audience.models import Recipient
from audience.segments import SegmentError
from campaigns import selectors
from campaigns.models import Campaign
from campaigns.models import DeliveryStatus as S
from campaigns.serializers import MAX_PICKED, ScheduleSerializer, StatsSerializer
from content.models import Template
from core.api.fields import RelatedIds
from core.api.params import MAX_ID, id_field
from core.digits import is_number
from sending.models import AccountStatus, SendingAccount

# Postroom's delivery statuses under the seed's names (sent, failed, not_found,
# connection_error, other_error), plus `pending` and `cancelled`, which the seed does not have.
SEED_STATUS_OF: dict[str, str] = {
    S.SENT: "sent",
    S.COMPLAINED: "sent",  # delivered; the recipient complained afterwards
    S.FAILED: "failed",
    S.BOUNCED: "failed",  # accepted, then bounced
    S.NOT_FOUND: "not_found",
    S.CONNECTION_ERROR: "connection_error",
    S.OTHER_ERROR: "other_error",
    S.EXPIRED: "other_error",
    S.SUPPRESSED: "other_error",
    S.QUEUED: "pending",
    S.DEFERRED: "pending",
    S.SENDING: "pending",
    S.CANCELLED: "cancelled",
}
SEED_FAILURES = ("failed", "not_found", "connection_error", "other_error")
# The services' problems under the burst's field names.
BURST_FIELDS = {"template_id": "body", "account_ids": "sender", "non_field_errors": "recipients"}


def seed_counts(counts: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(("sent", *SEED_FAILURES, "pending", "cancelled"), 0)
    for value, n in counts.items():
        out[SEED_STATUS_OF.get(value, "other_error")] += n
    return out


@extend_schema_serializer(component_name="EmailBurstSeedCounts")
class SeedCountsSerializer(serializers.Serializer[Any]):
    sent = serializers.IntegerField(help_text="Postroom's sent and complained.")
    failed = serializers.IntegerField(help_text="Postroom's failed and bounced.")
    not_found = serializers.IntegerField()
    connection_error = serializers.IntegerField()
    other_error = serializers.IntegerField(help_text="Other errors, expired and suppressed.")
    pending = serializers.IntegerField(help_text="Queued, deferred or being sent.")
    cancelled = serializers.IntegerField()


@extend_schema_field(
    {
        "type": "array",
        "items": {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}]},
    }
)
class RecipientRefsField(serializers.Field):  # type: ignore[type-arg]
    """Recipients as the seed's clients send them: ids or addresses, as a list or as a JSON
    string of one (form posts)."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            return values[0] if len(values) == 1 else values
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> dict[str, list[Any]]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = [part.strip() for part in data.split(",") if part.strip()]
        if not isinstance(data, list):
            raise serializers.ValidationError(_("Give a list of recipient ids or addresses."))
        if len(data) > MAX_PICKED:
            raise serializers.ValidationError(
                _("At most %(n)s recipients.") % {"n": f"{MAX_PICKED:,}"}
            )
        refs: dict[str, list[Any]] = {"ids": [], "emails": []}
        for item in data:
            if isinstance(item, int) and not isinstance(item, bool) and 0 < item <= MAX_ID:
                refs["ids"].append(item)
            elif isinstance(item, str) and is_number(item.strip()) and int(item) <= MAX_ID:
                refs["ids"].append(int(item))
            elif isinstance(item, str) and _is_email(item.strip()):
                refs["emails"].append(item.strip().lower())
            else:
                raise serializers.ValidationError(
                    _("Not a recipient id or address: %(item)s.") % {"item": repr(item)}
                )
        return refs

    def to_representation(self, value: Any) -> Any:
        return value


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except DjangoValidationError:
        return False
    return True


@extend_schema_serializer(component_name="EmailBurstWrite")
class EmailBurstWriteSerializer(serializers.Serializer[dict[str, Any]]):
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The HTML body; it becomes a template of the workspace (the text part is "
        "made from it). Placeholders such as {first_name} are filled per recipient.",
    )
    template_id = id_field(
        required=False, allow_null=True, help_text="Use this template instead of a body."
    )
    sender = serializers.EmailField(
        required=False,
        allow_blank=True,
        help_text="Send through the active accounts with this address. Default: every "
        "active account of the workspace.",
    )
    account_ids = serializers.ListField(child=id_field(), required=False)
    recipients = RecipientRefsField(
        required=False,
        help_text="Recipients of the workspace by id or address; they become the campaign's "
        "picked recipients.",
    )
    recipients_ids = serializers.ListField(child=id_field(), required=False, max_length=MAX_PICKED)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        workspace: Workspace = self.context["workspace"]
        errors: dict[str, list[str]] = {}
        if self.context.get("creating") and not (attrs.get("body") or attrs.get("template_id")):
            errors["body"] = ["Write a body (or give a template_id)."]
        if attrs.get("template_id") and not (
            Template.objects.filter(workspace=workspace, pk=attrs["template_id"]).exists()
        ):
            errors["template_id"] = ["This template does not exist in this workspace."]
        if "recipients" in attrs or "recipients_ids" in attrs:
            attrs["recipient_ids"] = _recipient_ids(workspace, attrs, errors)
        attrs["account_ids"] = _account_ids(workspace, attrs, errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _recipient_ids(
    workspace: Workspace, attrs: dict[str, Any], errors: dict[str, list[str]]
) -> list[int]:
    refs = attrs.get("recipients") or {"ids": [], "emails": []}
    ids = [*refs["ids"], *(attrs.get("recipients_ids") or [])]
    qs = Recipient.objects.filter(workspace=workspace)
    found = dict(qs.filter(pk__in=ids).values_list("pk", "pk"))
    by_email = dict(qs.filter(email__in=refs["emails"]).values_list("email", "pk"))
    unknown = [i for i in ids if i not in found] + [e for e in refs["emails"] if e not in by_email]
    if unknown:
        errors["recipients"] = [f"Not recipients of this workspace (add them first): {unknown}."]
    return list(dict.fromkeys([*found.values(), *by_email.values()]))


def _account_ids(
    workspace: Workspace, attrs: dict[str, Any], errors: dict[str, list[str]]
) -> list[int] | None:
    """The accounts the burst names (None: it names none, keep or choose the default)."""
    accounts = SendingAccount.objects.filter(workspace=workspace)
    if attrs.get("sender"):
        ids = list(
            accounts.filter(
                from_email__iexact=attrs["sender"], status=AccountStatus.ACTIVE
            ).values_list("pk", flat=True)
        )
        if not ids:
            errors["sender"] = ["No active sending account sends as this address."]
        return ids
    if "account_ids" in attrs:
        ids = list(accounts.filter(pk__in=attrs["account_ids"]).values_list("pk", flat=True))
        if set(ids) != set(attrs["account_ids"]):
            errors["account_ids"] = ["Some of these accounts do not exist in this workspace."]
        return ids
    return None


class EmailBurstSerializer(serializers.ModelSerializer[Campaign]):
    """A campaign as the seed shows an e-mail burst. Before the start, `subject` and `body` are
    the template's; afterwards, the content the campaign froze when it started."""

    sender = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    is_sent = serializers.SerializerMethodField(help_text="It has started sending.")
    sent_at = serializers.DateTimeField(source="launched_at", read_only=True)
    scheduled_time = serializers.DateTimeField(source="scheduled_at", read_only=True)
    account_ids = RelatedIds("accounts")
    recipients = serializers.SerializerMethodField(help_text="Addresses of picked recipients.")
    recipients_ids = serializers.SerializerMethodField()
    total_recipients = serializers.SerializerMethodField(
        help_text="Its deliveries once started; before, the recipients it would reach."
    )
    sent_count = serializers.SerializerMethodField()
    failed_count = serializers.SerializerMethodField(
        help_text="failed + not_found + connection_error + other_error, as the seed counts."
    )
    success_rate = serializers.SerializerMethodField(help_text="sent_count / total, in %.")

    class Meta:
        model = Campaign
        fields = (
            "id",
            "sender",
            "subject",
            "body",
            "created_at",
            "is_sent",
            "sent_at",
            "scheduled_time",
            "status",
            "template_id",
            "account_ids",
            "recipients",
            "recipients_ids",
            "total_recipients",
            "sent_count",
            "failed_count",
            "success_rate",
        )
        read_only_fields = fields

    def get_sender(self, obj: Campaign) -> str:
        accounts = list(obj.accounts.all())
        return accounts[0].from_email if accounts else ""

    def _content(self, obj: Campaign) -> tuple[str, str]:
        if obj.content:
            return str(obj.content.get("subject", "")), str(
                obj.content.get("html") or obj.content.get("text") or ""
            )
        template = self.context["templates"].get(obj.template_id)
        if template is None:
            return obj.name, ""
        return template.subject, template.html_body or template.text_body

    def get_subject(self, obj: Campaign) -> str:
        return self._content(obj)[0]

    def get_body(self, obj: Campaign) -> str:
        return self._content(obj)[1]

    def get_is_sent(self, obj: Campaign) -> bool:
        return obj.launched_at is not None

    def get_recipients_ids(self, obj: Campaign) -> list[int]:
        return [int(i) for i in (obj.picked or {}).get("ids") or []]

    def get_recipients(self, obj: Campaign) -> list[str]:
        emails: dict[int, str] = self.context["emails"]
        return [emails[i] for i in self.get_recipients_ids(obj) if i in emails]

    def _counts(self, obj: Campaign) -> dict[str, int]:
        counts: dict[str, int] = self.context["counts"].get(obj.pk, {})
        return counts

    def get_total_recipients(self, obj: Campaign) -> int:
        if obj.launched_at is not None:
            return sum(self._counts(obj).values())
        try:
            return selectors.campaign_audience(obj).reachable
        except SegmentError:
            return 0

    def get_sent_count(self, obj: Campaign) -> int:
        return seed_counts(self._counts(obj))["sent"]

    def get_failed_count(self, obj: Campaign) -> int:
        counts = seed_counts(self._counts(obj))
        return sum(counts[name] for name in SEED_FAILURES)

    def get_success_rate(self, obj: Campaign) -> float:
        total = self.get_total_recipients(obj)
        return round(self.get_sent_count(obj) * 100 / total, 2) if total else 0.0


def burst_context(campaigns: list[Campaign]) -> dict[str, Any]:
    """What EmailBurstSerializer reads for a page of bursts, in three queries."""
    template_ids = {c.template_id for c in campaigns if c.template_id and not c.content}
    picked = {int(i) for c in campaigns for i in (c.picked or {}).get("ids") or []}
    return {
        "templates": Template.objects.in_bulk(template_ids),
        "emails": dict(Recipient.objects.filter(pk__in=picked).values_list("pk", "email")),
        "counts": selectors.status_counts_many([c.pk for c in campaigns]),
    }


@extend_schema_serializer(component_name="EmailBurstStats")
class EmailBurstStatsSerializer(StatsSerializer):
    email_burst_id = serializers.IntegerField()
    total_recipients = serializers.IntegerField()
    sent_count = serializers.IntegerField()
    failed_count = serializers.IntegerField()
    success_rate = serializers.FloatField()
    seed_counts = SeedCountsSerializer(help_text="The seed's delivery statuses.")


@extend_schema_serializer(component_name="EmailBurstSent")
class EmailBurstSentSerializer(serializers.Serializer[Any]):
    email_burst_id = serializers.IntegerField()
    message = serializers.CharField()
    task_id = serializers.CharField(allow_null=True, help_text="Always null: no task to track.")
    total_recipients = serializers.IntegerField()
    status = serializers.CharField()


@extend_schema_serializer(component_name="EmailBurstScheduleInput")
class EmailBurstScheduleSerializer(ScheduleSerializer):
    scheduled_time = serializers.DateTimeField(required=False, help_text="The seed's send_at.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "scheduled_time" in attrs:
            if "send_at" in attrs:
                raise serializers.ValidationError(_("Give scheduled_time or send_at, not both."))
            attrs["send_at"] = attrs.pop("scheduled_time")
        if not attrs:
            raise serializers.ValidationError(
                {"scheduled_time": [_("Scheduled time is required.")]}
            )
        return super().validate(attrs)


@extend_schema_serializer(component_name="EmailBurstScheduled")
class EmailBurstScheduledSerializer(serializers.Serializer[Any]):
    email_burst_id = serializers.IntegerField()
    message = serializers.CharField()
    task_id = serializers.CharField(allow_null=True, help_text="Always null: no task to track.")
    scheduled_time = serializers.DateTimeField()
    window_end = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
