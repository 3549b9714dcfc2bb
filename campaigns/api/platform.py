"""`/api/platform/campaigns/`: the platform console's campaigns for managers' scripts: every
workspace's campaigns (filtered as on the page) and a manager's disable and enable.

Only platform managers signed in as themselves (session or JWT) use it; to anyone else, API
keys included (a key belongs to one workspace), these routes answer 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.access import PlatformManagerOnly
from accounts.models import User
from campaigns import platform, selectors
from campaigns.api.common import CampaignConflict, not_ready
from campaigns.models import Campaign
from campaigns.services import CampaignNotAllowed, CampaignNotReady
from core.api.pagination import PagePagination
from core.api.representation import QuickRows


class PlatformCampaignSerializer(QuickRows, serializers.ModelSerializer[Campaign]):
    workspace_name = serializers.CharField(source="workspace.name", read_only=True)
    owner_email = serializers.SerializerMethodField()
    disabled_by_email = serializers.SerializerMethodField()
    sent = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = (
            "id",
            "name",
            "subject",
            "status",
            "status_reason",
            "workspace",
            "workspace_name",
            "owner_email",
            "audience_total",
            "sent",
            "disabled_at",
            "disabled_reason",
            "disabled_by_email",
            "created_at",
            "launched_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_owner_email(self, obj: Campaign) -> str:
        return obj.created_by.email if obj.created_by else ""

    def get_disabled_by_email(self, obj: Campaign) -> str:
        return obj.disabled_by.email if obj.disabled_by else ""

    def get_sent(self, obj: Campaign) -> int:
        counts: dict[int, dict[str, int]] = self.context.get("counts") or {}
        return selectors.progress_of_counts(counts.get(obj.pk, {})).sent


class DisableSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=platform.REASON_MAX)


FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, description="The campaign's state."),
    OpenApiParameter("workspace", OpenApiTypes.INT, description="A workspace's id."),
    OpenApiParameter("owner", OpenApiTypes.STR, description="Part of the creator's e-mail."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Words of the name or subject."),
    OpenApiParameter("disabled", OpenApiTypes.BOOL, description="Only disabled campaigns."),
]
MOVED = {200: PlatformCampaignSerializer, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT}


@extend_schema(tags=["platform"])
@extend_schema_view(
    list=extend_schema(
        summary="Every workspace's campaigns (platform managers)", parameters=FILTERS
    ),
)
class PlatformCampaignsApi(mixins.ListModelMixin, viewsets.GenericViewSet[Campaign]):
    permission_classes = (PlatformManagerOnly,)
    serializer_class = PlatformCampaignSerializer
    pagination_class = PagePagination
    queryset = Campaign.objects.none()  # the model, for the schema
    lookup_url_kwarg = "campaign_id"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Campaign]:
        flt = platform.PlatformCampaignFilter.from_params(self.request.query_params)
        return platform.platform_campaigns(flt)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        context = {**self.get_serializer_context(), "counts": selectors.list_counts(page)}
        data = PlatformCampaignSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    def _campaign(self) -> Campaign:
        campaign = platform.platform_campaign_get(int(self.kwargs["campaign_id"]))
        if campaign is None:
            raise exceptions.NotFound()
        return campaign

    def _answer(self, campaign: Campaign) -> Response:
        campaign = platform.platform_campaign_get(campaign.pk) or campaign
        counts = selectors.list_counts([campaign])
        context = {**self.get_serializer_context(), "counts": counts}
        return Response(PlatformCampaignSerializer(campaign, context=context).data)

    @extend_schema(summary="Disable a campaign, with the reason its owner is shown",
                   request=DisableSerializer, responses=MOVED)  # fmt: skip
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, campaign_id: str) -> Response:
        campaign = self._campaign()
        body = DisableSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)  # noqa: S101 - PlatformManagerOnly let only users in
        try:
            platform.campaign_disable(campaign=campaign, by=user, reason=body.data["reason"])
        except CampaignNotAllowed as exc:
            raise CampaignConflict(
                str(exc), code="campaign_not_disableable", current_status=exc.status
            ) from exc
        except CampaignNotReady as exc:
            raise not_ready(str(exc), "reason_required") from exc
        return self._answer(campaign)

    @extend_schema(summary="Enable a disabled campaign", request=None, responses=MOVED)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, campaign_id: str) -> Response:
        campaign = self._campaign()
        user = request.user
        assert isinstance(user, User)  # noqa: S101 - PlatformManagerOnly let only users in
        try:
            platform.campaign_enable(campaign=campaign, by=user)
        except CampaignNotAllowed as exc:
            raise CampaignConflict(
                str(exc), code="campaign_not_disabled", current_status=exc.status
            ) from exc
        return self._answer(campaign)
