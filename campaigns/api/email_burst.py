"""The Emailer System's `/api/email-burst/`: the same campaigns as /api/campaigns/, under the
seed's name and with the fields its clients send and read.

An e-mail burst is a campaign:
- `subject` and `body` (HTML) become a template of the workspace, made for the burst (a
  change of either makes a new one; a running campaign keeps the content it started with);
  `template_id` uses an existing template instead. The subject also names the campaign.
- `recipients` (ids or addresses of the workspace's recipients, as a list or a JSON string)
  and `recipients_ids` (ids) become the campaign's picked recipients.
- `sender` picks the workspace's active sending accounts with that address; without it (or
  `account_ids`) the burst goes out through all its active accounts.
- `stats` gives the seed's figures and delivery statuses next to Postroom's own counts.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import html

from accounts.models import Workspace
from audience.models import Recipient
from audience.segments import SegmentError
from campaigns import editing, selectors
from campaigns.api.campaigns import CONFLICT, LIST_PARAMETERS, CampaignResource
from campaigns.api.common import raise_problems, stats_of
from campaigns.editing import CampaignData
from campaigns.models import Campaign
from campaigns.models import DeliveryStatus as S
from campaigns.serializers import (
    MAX_ID,
    MAX_PICKED,
    ScheduleSerializer,
    StatsSerializer,
    id_field,
)
from content.models import Template
from content.services import template_create
from content.syntax import ContentError
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
            raise serializers.ValidationError("Give a list of recipient ids or addresses.")
        if len(data) > MAX_PICKED:
            raise serializers.ValidationError(f"At most {MAX_PICKED:,} recipients.")
        refs: dict[str, list[Any]] = {"ids": [], "emails": []}
        for item in data:
            if isinstance(item, int) and not isinstance(item, bool) and 0 < item <= MAX_ID:
                refs["ids"].append(item)
            elif isinstance(item, str) and item.strip().isdigit() and int(item) <= MAX_ID:
                refs["ids"].append(int(item))
            elif isinstance(item, str) and _is_email(item.strip()):
                refs["emails"].append(item.strip().lower())
            else:
                raise serializers.ValidationError(f"Not a recipient id or address: {item!r}.")
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
    account_ids: serializers.PrimaryKeyRelatedField[SendingAccount] = (
        serializers.PrimaryKeyRelatedField(source="accounts", many=True, read_only=True)
    )
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
                raise serializers.ValidationError("Give scheduled_time or send_at, not both.")
            attrs["send_at"] = attrs.pop("scheduled_time")
        if not attrs:
            raise serializers.ValidationError({"scheduled_time": ["Scheduled time is required."]})
        return super().validate(attrs)


@extend_schema_serializer(component_name="EmailBurstScheduled")
class EmailBurstScheduledSerializer(serializers.Serializer[Any]):
    email_burst_id = serializers.IntegerField()
    message = serializers.CharField()
    task_id = serializers.CharField(allow_null=True, help_text="Always null: no task to track.")
    scheduled_time = serializers.DateTimeField()
    window_end = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()


@extend_schema(tags=["email-burst"])
@extend_schema_view(
    list=extend_schema(summary="List all email bursts (campaigns)", parameters=LIST_PARAMETERS),
    retrieve=extend_schema(summary="Get specific email burst"),
    create=extend_schema(
        summary="Create a new email burst (a draft campaign)",
        request=EmailBurstWriteSerializer,
        responses={201: EmailBurstSerializer},
    ),
    update=extend_schema(
        summary="Update specific email burst (draft or scheduled)",
        request=EmailBurstWriteSerializer,
        responses={200: EmailBurstSerializer, **CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete specific email burst (not while running or paused)",
        responses={204: None, **CONFLICT},
    ),
)
class EmailBurstsApi(CampaignResource):
    serializer_class = EmailBurstSerializer
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def bursts(self, campaigns: list[Campaign]) -> Any:
        context = {**self.get_serializer_context(), **burst_context(campaigns)}
        return EmailBurstSerializer(campaigns, many=True, context=context).data

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.listed())
        return self.get_paginated_response(self.bursts(list(page or [])))

    def retrieve(self, request: Request, campaign_id: int) -> Response:
        return Response(self.bursts([self.get_object()])[0])

    @transaction.atomic
    def create(self, request: Request) -> Response:
        v = self._valid(request, creating=True)
        active = SendingAccount.objects.filter(
            workspace=self.workspace, status=AccountStatus.ACTIVE
        )
        ids = v.get("recipient_ids") or []
        data = CampaignData(
            name=v["subject"],
            template_id=self._template_id(v, None),
            account_ids=v["account_ids"] or list(active.values_list("pk", flat=True)),
            picked={"ids": ids} if ids else {},
        )
        raise_problems(self.workspace, data, BURST_FIELDS)
        campaign = editing.campaign_create(workspace=self.workspace, user=self.user, data=data)
        return Response(self.bursts([campaign])[0], status.HTTP_201_CREATED)

    @transaction.atomic
    def update(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        self.editable(campaign)
        v = self._valid(request, creating=False)
        data = editing.campaign_data(campaign)
        data.name = v["subject"]
        data.template_id = self._template_id(v, campaign)
        if v["account_ids"] is not None:
            data.account_ids = v["account_ids"]
        if "recipient_ids" in v:
            data.picked = {"ids": v["recipient_ids"]} if v["recipient_ids"] else {}
        raise_problems(self.workspace, data, BURST_FIELDS)
        return Response(self.bursts([self.save_changes(campaign, data)])[0])

    def destroy(self, request: Request, campaign_id: int) -> Response:
        self.remove(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _valid(self, request: Request, *, creating: bool) -> dict[str, Any]:
        context = {"workspace": self.workspace, "creating": creating}
        given = EmailBurstWriteSerializer(data=request.data, context=context)
        given.is_valid(raise_exception=True)
        return dict(given.validated_data)

    def _template_id(self, v: dict[str, Any], campaign: Campaign | None) -> int | None:
        """The template named, the burst's own if subject and body are unchanged, or a new
        one made from them."""
        if v.get("template_id"):
            return int(v["template_id"])
        current = None
        if campaign is not None and campaign.template_id is not None:
            current = Template.objects.filter(
                workspace=self.workspace, pk=campaign.template_id
            ).first()
        body = v.get("body") or (current.html_body if current else "")
        if current is not None and (current.subject, current.html_body) == (v["subject"], body):
            return current.pk
        try:
            template = template_create(
                workspace=self.workspace,
                name=v["subject"][:200],
                subject=v["subject"],
                html_body=body,
                text_from_html=True,
            )
        except ContentError as exc:
            raise serializers.ValidationError({"body": [str(exc)]}) from exc
        return template.pk

    @extend_schema(
        summary="Send the email burst to all recipients now",
        request=None,
        responses={200: EmailBurstSentSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, campaign_id: int) -> Response:
        campaign = self.send_now(self.get_object())
        sent = {
            "email_burst_id": campaign.pk,
            "message": "The email burst is queued: the worker sends it now.",
            "task_id": None,
            "total_recipients": campaign.audience_total,
            "status": campaign.status,
        }
        return Response(EmailBurstSentSerializer(sent).data)

    @extend_schema(
        summary="Schedule an email burst (scheduled_time, or a window)",
        request=EmailBurstScheduleSerializer,
        responses={200: EmailBurstScheduledSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        when = EmailBurstScheduleSerializer(data=request.data)
        when.is_valid(raise_exception=True)
        campaign = self.schedule_at(campaign, dict(when.validated_data))
        scheduled = {
            "email_burst_id": campaign.pk,
            "message": "Email scheduled successfully",
            "task_id": None,
            "scheduled_time": campaign.scheduled_at,
            "window_end": campaign.window_end,
            "status": campaign.status,
        }
        return Response(EmailBurstScheduledSerializer(scheduled).data)

    @extend_schema(
        summary="Get delivery statistics for an email burst", responses=EmailBurstStatsSerializer
    )
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        burst = self.bursts([campaign])[0]
        figures = {
            **stats_of(campaign),
            "email_burst_id": campaign.pk,
            "seed_counts": seed_counts(
                selectors.status_counts_many([campaign.pk]).get(campaign.pk, {})
            ),
            **{k: burst[k] for k in ("total_recipients", "sent_count", "failed_count")},
            "success_rate": burst["success_rate"],
        }
        return Response(EmailBurstStatsSerializer(figures).data)
