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

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import editing
from campaigns.api.campaigns import CONFLICT, CampaignResource
from campaigns.api.common import raise_problems, stats_of
from campaigns.api.email_burst_serializers import (
    BURST_FIELDS,
    EmailBurstScheduledSerializer,
    EmailBurstScheduleSerializer,
    EmailBurstSentSerializer,
    EmailBurstSerializer,
    EmailBurstStatsSerializer,
    EmailBurstWriteSerializer,
    burst_context,
    seed_counts,
)
from campaigns.editing import CampaignData
from campaigns.models import Campaign
from content.models import Template
from content.services import template_create
from content.syntax import ContentError
from sending.models import AccountStatus, SendingAccount

MAPPING = (
    "An e-mail burst is a campaign. `subject` and `body` (HTML) become a template of the "
    "workspace (a change of either makes a new one; `template_id` uses an existing template "
    "instead); the subject also names the campaign. `recipients` (ids or addresses of the "
    "workspace's recipients, as a list or a JSON string) and `recipients_ids` become the "
    "campaign's picked recipients. `sender` picks the active accounts with that address; "
    "without it, or `account_ids`, every active account sends."
)


@extend_schema(tags=["email-burst"])
@extend_schema_view(
    list=extend_schema(summary="List all email bursts (campaigns)"),
    retrieve=extend_schema(summary="Get specific email burst"),
    create=extend_schema(
        summary="Create a new email burst (a draft campaign)",
        description=MAPPING,
        request=EmailBurstWriteSerializer,
        responses={201: EmailBurstSerializer},
    ),
    update=extend_schema(
        summary="Update specific email burst (draft or scheduled)",
        description=MAPPING,
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
        campaign = self.send_now(self.get_object(), wait=True)
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
        context = burst_context([campaign])
        burst = EmailBurstSerializer(campaign, context=context).data
        figures = {
            **stats_of(campaign),
            "email_burst_id": campaign.pk,
            "seed_counts": seed_counts(context["counts"].get(campaign.pk, {})),
            **{
                name: burst[name]
                for name in ("total_recipients", "sent_count", "failed_count", "success_rate")
            },
        }
        return Response(EmailBurstStatsSerializer(figures).data)
