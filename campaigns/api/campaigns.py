"""`/api/campaigns/`: campaigns as the editor makes them, their audience estimate, their moves
(send, schedule, unschedule, pause, resume, cancel), their progress and their report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, renderers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import User, Workspace
from audience.segments import SegmentError
from campaigns import editing, selectors, services
from campaigns.api.common import (
    CampaignConflict,
    not_ready,
    raise_problems,
    run_transition,
    segment_unusable,
    stats_of,
)
from campaigns.api.filters import CampaignFilterSet
from campaigns.csv_export import delivery_rows, streamed
from campaigns.models import Campaign, DeliveryStatus
from campaigns.serializers import (
    CampaignSerializer,
    CampaignWriteSerializer,
    EstimateSerializer,
    ScheduleSerializer,
    StatsSerializer,
)
from campaigns.transitions import EDITABLE, refusal
from core.api.filters import ListFilterBackend
from core.api.pagination import PagePagination
from core.api.renderers import CsvRenderer

F = TypeVar("F", bound=Callable[..., Any])


class CampaignResource(WorkspaceViewSet[Campaign]):
    """What /api/campaigns/ and the Emailer System's /api/email-burst/ share: the same
    campaigns of the caller's workspace, and the same services behind every write."""

    lookup_url_kwarg = "campaign_id"
    lookup_value_regex = "[0-9]+"
    pagination_class = PagePagination
    queryset = Campaign.objects.none()  # the model, for the schema; rows: workspace_queryset
    filter_backends = (ListFilterBackend,)
    filterset_class = CampaignFilterSet

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Campaign]:
        return (
            Campaign.objects.filter(workspace=workspace)
            .select_related("ab_test__winner")
            # Lists, segments and accounts: the serializer reads their ids (`RelatedIds`).
            .prefetch_related("variants")
        )

    def listed(self) -> QuerySet[Campaign]:
        """The list, filtered and ordered by `CampaignFilterSet`."""
        # A sequence's step campaigns belong to their sequence (/api/sequences/).
        return self.filter_queryset(self.get_queryset().filter(sequence_step=False))

    def editable(self, campaign: Campaign) -> None:
        """409 unless the campaign can still change (draft or scheduled), as in the UI."""
        if campaign.status not in EDITABLE:
            raise CampaignConflict(
                _("Only draft and scheduled campaigns can be changed."),
                code="campaign_not_editable",
                current_status=campaign.status,
            )

    def save_changes(self, campaign: Campaign, data: editing.CampaignData) -> Campaign:
        try:
            return editing.campaign_update(campaign=campaign, data=data)
        except services.CampaignNotAllowed as exc:
            raise CampaignConflict(
                str(exc), code="campaign_not_editable", current_status=exc.status
            ) from exc
        except services.CampaignError as exc:
            raise not_ready(str(exc)) from exc

    def remove(self, campaign: Campaign) -> None:
        try:
            editing.campaign_delete(campaign=campaign)
        except services.CampaignError as exc:
            raise CampaignConflict(
                str(exc), code="campaign_active", current_status=campaign.status
            ) from exc

    def send_now(self, campaign: Campaign, *, wait: bool = False) -> Campaign:
        """Start `campaign`: launching (a worker creates the deliveries, the request does not
        wait for them), or with `wait` running with its deliveries created (the email burst,
        whose answer counts them)."""
        if wait:
            return run_transition(
                campaign, "send", lambda: services.campaign_start(campaign=campaign)
            )
        return run_transition(
            campaign, "send", lambda: services.campaign_queue_launch(campaign=campaign)
        )

    def schedule_at(self, campaign: Campaign, when: dict[str, Any]) -> Campaign:
        if campaign.status not in EDITABLE:
            raise CampaignConflict(
                refusal(campaign.status, "schedule"),
                code="transition_not_allowed",
                current_status=campaign.status,
            )
        raise_problems(
            campaign.workspace,
            _with_schedule(editing.campaign_data(campaign), when),
            {},
            fixed_audience=campaign.has_fixed_audience,
        )
        return run_transition(
            campaign, "schedule", lambda: editing.campaign_schedule(campaign=campaign, **when)
        )

    @property
    def user(self) -> User | None:
        """Who makes a campaign: the user, or the creator of the API key used."""
        user = self.request.user
        return user if isinstance(user, User) else None

    def output(self, campaign: Campaign, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            CampaignSerializer(campaign, context=self.get_serializer_context()).data, code
        )


ARCHIVE_FIELDS = frozenset({"archived", "archive_values"})


def _archive_only(body: Any) -> bool:
    """Whether a PATCH changes only the archive fields (allowed once a campaign started)."""
    return hasattr(body, "keys") and bool(body) and set(body.keys()) <= ARCHIVE_FIELDS


def _with_schedule(data: editing.CampaignData, when: dict[str, Any]) -> editing.CampaignData:
    data.schedule_mode = when["schedule_mode"]
    data.scheduled_at = when["scheduled_at"]
    data.window_end = when.get("window_end")
    return data


CONFLICT = {409: OpenApiTypes.OBJECT}


def _move(summary: str) -> Callable[[F], F]:
    """The schema of a move: no body, the campaign afterwards, or 409 naming its state."""
    return extend_schema(
        summary=summary, request=None, responses={200: CampaignSerializer, **CONFLICT}
    )


@extend_schema(tags=["campaigns"])
@extend_schema_view(
    list=extend_schema(summary="List campaigns"),
    retrieve=extend_schema(summary="A campaign with its counts per delivery status"),
    create=extend_schema(
        summary="Create a draft campaign",
        request=CampaignWriteSerializer,
        responses={201: CampaignSerializer},
    ),
    update=extend_schema(
        summary="Change a draft or scheduled campaign",
        request=CampaignWriteSerializer,
        responses={200: CampaignSerializer, **CONFLICT},
    ),
    partial_update=extend_schema(
        summary="Change parts of a draft or scheduled campaign; `archived` and "
        "`archive_values` alone, in any state",
        request=CampaignWriteSerializer,
        responses={200: CampaignSerializer, **CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete a campaign (not while running or paused)",
        responses={204: None, **CONFLICT},
    ),
)
class CampaignsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    CampaignResource,
):
    serializer_class = CampaignSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.listed())
        rows = page if page is not None else []
        context = {
            **self.get_serializer_context(),
            "counts": selectors.current_counts(rows),
        }
        return self.get_paginated_response(
            CampaignSerializer(rows, many=True, context=context).data
        )

    def create(self, request: Request) -> Response:
        write = CampaignWriteSerializer(data=request.data, context={"workspace": self.workspace})
        write.is_valid(raise_exception=True)
        data = write.campaign_data()
        raise_problems(self.workspace, data, {})
        try:
            campaign = editing.campaign_create(workspace=self.workspace, user=self.user, data=data)
        except services.CampaignError as exc:
            raise not_ready(str(exc)) from exc
        return self.output(campaign, status.HTTP_201_CREATED)

    def update(self, request: Request, campaign_id: int, partial: bool = False) -> Response:
        campaign = self.get_object()
        if partial and campaign.status not in EDITABLE and _archive_only(request.data):
            return self.output(self.set_archive(campaign, request.data))
        self.editable(campaign)
        write = CampaignWriteSerializer(
            data=request.data, partial=partial, context={"workspace": self.workspace}
        )
        write.is_valid(raise_exception=True)
        data = write.campaign_data(editing.campaign_data(campaign) if partial else None)
        raise_problems(self.workspace, data, {}, fixed_audience=campaign.has_fixed_audience)
        return self.output(self.save_changes(campaign, data))

    def set_archive(self, campaign: Campaign, body: Any) -> Campaign:
        """A started campaign's place in the public archive: the one change it still takes."""
        write = CampaignWriteSerializer(
            data=body, partial=True, context={"workspace": self.workspace}
        )
        write.is_valid(raise_exception=True)
        values = write.validated_data
        return editing.campaign_set_archive(
            campaign=campaign,
            archived=values.get("archived", campaign.archived),
            archive_values=values.get("archive_values"),
        )

    def partial_update(self, request: Request, campaign_id: int) -> Response:
        return self.update(request, campaign_id, partial=True)

    def destroy(self, request: Request, campaign_id: int) -> Response:
        self.remove(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Who the campaign reaches and who is left out (suppressed, unsubscribed, "
        "duplicates), as its page shows before the start",
        responses={200: EstimateSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def estimate(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        try:
            count = selectors.campaign_audience(campaign)
        except SegmentError as exc:
            raise not_ready(segment_unusable(exc), "segment_error") from exc
        figures = {
            "campaign_id": campaign.pk,
            "counted": "now" if campaign.status in EDITABLE else "at_launch",
            "reachable": count.reachable,
            "left_out": count.left_out,
            "suppressed": count.suppressed,
            "unsubscribed": count.unsubscribed,
            "duplicates": count.duplicates,
        }
        return Response(EstimateSerializer(figures).data)

    @extend_schema(
        summary="Progress: counts per delivery status, rate per minute, estimated time left",
        responses=StatsSerializer,
    )
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, campaign_id: int) -> Response:
        return Response(StatsSerializer(stats_of(self.get_object())).data)

    @extend_schema(
        summary="Send now (from draft or scheduled): 202, launching; a worker creates the"
        " deliveries and the campaign then runs (poll it for its status)",
        request=None,
        responses={202: CampaignSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, campaign_id: int) -> Response:
        return self.output(self.send_now(self.get_object()), status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Schedule at a time, or inside a start/end window (draft or scheduled)",
        request=ScheduleSerializer,
        responses={200: CampaignSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        when = ScheduleSerializer(data=request.data)
        when.is_valid(raise_exception=True)
        return self.output(self.schedule_at(campaign, dict(when.validated_data)))

    @_move("Back to draft: a scheduled campaign does not start at its time")
    @action(detail=True, methods=["post"])
    def unschedule(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        call = lambda: editing.campaign_unschedule(campaign=campaign)  # noqa: E731
        return self.output(run_transition(campaign, "unschedule", call))

    @_move("Pause a running campaign: no new message starts")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        call = lambda: services.campaign_pause(campaign=campaign)  # noqa: E731
        return self.output(run_transition(campaign, "pause", call))

    @_move("Resume a paused campaign where it stopped")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        call = lambda: services.campaign_resume(campaign=campaign)  # noqa: E731
        return self.output(run_transition(campaign, "resume", call))

    @_move("Cancel: every message not yet sent ends cancelled")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, campaign_id: int) -> Response:
        campaign = self.get_object()
        call = lambda: services.campaign_cancel(campaign=campaign)  # noqa: E731
        return self.output(run_transition(campaign, "cancel", call))


class CampaignReportCsvApi(APIView):
    """Every delivery of the campaign as CSV, streamed (the report page's download)."""

    permission_classes = (WorkspaceRole,)
    renderer_classes = (renderers.JSONRenderer, CsvRenderer)

    @extend_schema(
        tags=["campaigns"],
        summary="The campaign's report: every delivery as CSV",
        parameters=[
            OpenApiParameter("status", str, enum=list(DeliveryStatus.values)),
            OpenApiParameter("q", str, description="Part of the address."),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request, campaign_id: int) -> HttpResponse:
        workspace = api_access(request).workspace
        campaign = selectors.campaign_get(workspace, campaign_id)
        if campaign is None:
            raise NotFound(_("No such campaign."))
        flt = selectors.DeliveryFilter.from_params(request.query_params)
        qs = selectors.deliveries_matching(campaign, flt)
        return streamed(delivery_rows(qs), f"campaign-{campaign.pk}-deliveries")
