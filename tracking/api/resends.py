"""`/api/campaigns/{campaign_id}/resend/`: what resends a finished campaign offers (GET) and
making one (POST), as the report page's buttons do."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from accounts.models import User
from campaigns.models import Campaign, ResendKind
from campaigns.selectors import campaign_get
from tracking import resends


class ResendOptionOut(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ResendKind.choices)
    text = serializers.CharField()
    count = serializers.IntegerField(help_text="Recipients a resend of this kind reaches now.")
    refusal = serializers.CharField(help_text="Why this kind is not possible; empty when it is.")


class ResendIn(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ResendKind.choices)
    subject = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=998,
        help_text="Required for `unopened`; otherwise empty keeps the subject it was sent with.",
    )
    include_previous = serializers.BooleanField(
        default=False,
        help_text="Also those an earlier resend of the same kind reached (left out otherwise).",
    )


class ResendOut(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The new draft campaign.")
    name = serializers.CharField()
    status = serializers.CharField()
    resent_from = serializers.IntegerField()
    resend_kind = serializers.CharField()
    subject = serializers.CharField()
    recipients = serializers.IntegerField(help_text="Its recipients, fixed now.")


class CampaignResendApi(APIView):
    """Resend a finished campaign as a new draft, linked to it, for a recipient set fixed now:
    `failed` (delivery failed or expired), `unopened` (needs open tracking and a new subject)
    or `new_members` (joined its lists since). Start the draft as any other campaign."""

    permission_classes = (WorkspaceRole,)

    def _campaign(self, request: Request, campaign_id: int) -> Campaign:
        campaign = campaign_get(api_access(request).workspace, campaign_id)
        if campaign is None:
            raise NotFound(_("No such campaign."))
        return campaign

    @extend_schema(
        tags=["campaigns"],
        summary="The resends a campaign offers, with how many each would reach",
        responses=ResendOptionOut(many=True),
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        options = resends.resend_options(self._campaign(request, campaign_id))
        return Response([asdict(option) for option in options])

    @extend_schema(
        tags=["campaigns"],
        summary="Make a draft resend of a finished campaign",
        request=ResendIn,
        responses={201: ResendOut},
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = self._campaign(request, campaign_id)
        given = ResendIn(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            made = resends.campaign_resend(
                campaign=campaign,
                kind=given.validated_data["kind"],
                subject=given.validated_data.get("subject", ""),
                include_previous=given.validated_data["include_previous"],
                user=request.user if isinstance(request.user, User) else None,
                now=timezone.now(),
            )
        except resends.ResendError as exc:
            raise ValidationError({"kind": [str(exc)]}) from exc
        resend = made.campaign
        body = {
            "id": resend.pk,
            "name": resend.name,
            "status": resend.status,
            "resent_from": campaign.pk,
            "resend_kind": resend.resend_kind,
            "subject": resend.subject,
            "recipients": made.recipients,
        }
        return Response(body, status=status.HTTP_201_CREATED)
