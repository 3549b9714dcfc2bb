"""`/api/deliveries/` and `/api/attempts/` (read-only, cursor pages: these tables hold
millions of rows), djangoMailer's "send now" of a waiting message, `POST /api/messages/`
(queue one e-mail to one recipient) and `GET /api/dashboard/`."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import User, Workspace
from audience.models import Recipient
from audience.selectors import recipient_get, recipient_of_address
from campaigns import dashboard, editing, services
from campaigns.api.common import CampaignConflict
from campaigns.api.filters import AttemptFilterSet, DeliveryFilterSet
from campaigns.models import Attempt, Delivery
from campaigns.serializers import (
    AttemptSerializer,
    DashboardSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
    MessageQueuedSerializer,
    MessageSerializer,
)
from core.api.filters import ListFilterBackend
from core.api.pagination import KeysetPagination, LargeCursorPagination
from core.index_order import in_index_order


@extend_schema(tags=["deliveries"])
@extend_schema_view(
    list=extend_schema(summary="Deliveries of the workspace"),
    retrieve=extend_schema(summary="A delivery with every attempt at it"),
)
class DeliveriesApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    WorkspaceViewSet[Delivery],
):
    lookup_url_kwarg = "delivery_id"
    lookup_value_regex = "[0-9]+"
    pagination_class = LargeCursorPagination
    queryset = Delivery.objects.none()  # the model, for the schema; rows: workspace_queryset
    filter_backends = (ListFilterBackend,)
    filterset_class = DeliveryFilterSet

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Delivery]:
        return Delivery.objects.filter(workspace=workspace)

    def get_queryset(self) -> QuerySet[Delivery]:
        if self.action == "retrieve":
            attempts = Attempt.objects.order_by("created_at", "id")
            return super().get_queryset().prefetch_related(Prefetch("attempt_set", attempts))
        return super().get_queryset()

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    @extend_schema(
        summary="Send a queued or deferred message with the next round of the worker",
        request=None,
        responses={200: DeliverySerializer, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="send-now", url_name="send-now")
    def send_now(self, request: Request, delivery_id: int) -> Response:
        delivery = self.get_object()
        try:
            delivery = editing.delivery_send_now(delivery=delivery)
        except services.CampaignError as exc:
            delivery.refresh_from_db()
            raise CampaignConflict(
                str(exc), code="delivery_not_waiting", current_status=delivery.status
            ) from exc
        return Response(DeliverySerializer(delivery).data)


@extend_schema(tags=["deliveries"])
@extend_schema_view(
    list=extend_schema(summary="Attempts of the workspace, newest first"),
    retrieve=extend_schema(summary="One attempt: time, account, SMTP code and reply"),
)
class AttemptsApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[Attempt]):
    lookup_url_kwarg = "attempt_id"
    lookup_value_regex = "[0-9]+"
    # Newest first by (created_at, id) on the (workspace or campaign, time, id) index, exact
    # where a chunk of the engine's attempts shares one timestamp.
    pagination_class = KeysetPagination
    serializer_class = AttemptSerializer
    queryset = Attempt.objects.none()  # the model, for the schema; rows: workspace_queryset
    filter_backends = (ListFilterBackend,)
    filterset_class = AttemptFilterSet

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Attempt]:
        return Attempt.objects.filter(workspace=workspace)

    def paginate_queryset(self, queryset: QuerySet[Any, Any]) -> list[Any] | None:
        # As the log page (selectors.attempts_page): a page walks the (workspace or campaign,
        # time, id) index whatever the statistics say; one delivery's few attempts are found
        # by its own index and sorted.
        with nullcontext() if self.request.query_params.get("delivery_id") else in_index_order():
            return super().paginate_queryset(queryset)


class MessageQueueApi(APIView):
    """djangoMailer's "queue single email": one e-mail to one recipient, now or at a time."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["deliveries"],
        summary="Queue one e-mail to one recipient",
        request=MessageSerializer,
        responses={201: MessageQueuedSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        access = api_access(request)
        given = MessageSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        v = given.validated_data
        recipient = _recipient(access.workspace, v.get("email"), v.get("recipient_id"))
        try:
            campaign = editing.email_queue_single(
                workspace=access.workspace,
                user=request.user if isinstance(request.user, User) else None,
                recipient=recipient,
                template_id=v["template_id"],
                account_id=v["account_id"],
                send_at=v.get("send_at"),
            )
        except services.CampaignError as exc:
            raise serializers.ValidationError(str(exc), code="message_refused") from exc
        delivery = Delivery.objects.filter(campaign=campaign).only("pk").first()
        queued = {
            "campaign_id": campaign.pk,
            "delivery_id": delivery.pk if delivery else None,
            "email": recipient.email,
            "status": campaign.status,
            "send_at": campaign.scheduled_at,
        }
        return Response(MessageQueuedSerializer(queued).data, status.HTTP_201_CREATED)


def _recipient(workspace: Workspace, email: str | None, recipient_id: int | None) -> Recipient:
    if email is not None:
        found = recipient_of_address(workspace, email)
        if found is None:
            raise serializers.ValidationError(
                {"email": [_("No recipient has this address: add them first.")]}
            )
        return found
    found = recipient_get(workspace, recipient_id) if recipient_id is not None else None
    if found is None:
        raise serializers.ValidationError({"recipient_id": [_("No such recipient.")]})
    return found


class DashboardApi(APIView):
    """The home page's figures (cached and refreshed on change, as the page)."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["dashboard"],
        summary="Recipients, templates, campaigns, messages today and over 30 days, and each "
        "account's use of its daily limit",
        responses=DashboardSerializer,
    )
    def get(self, request: Request) -> Response:
        figures = dashboard.figures(api_access(request).workspace)
        return Response(DashboardSerializer(figures).data)
