"""The webhooks API: /api/webhooks/ (endpoints), their secret (shown at creation and on
rotation only), a test event, and the requests sent to each endpoint with their outcome.

Reads need the viewer role; every write needs owner, since a webhook's secret and URL decide
where the workspace's data goes.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Role, User, Workspace
from core.api.filters import (
    ListFilterBackend,
    QueryFilter,
    WorkspaceFilterSet,
    one_of,
    string_schema,
)
from core.api.pagination import LargeCursorPagination, PagePagination
from core.api.representation import QuickRows
from webhooks import events as catalogue
from webhooks import selectors, services
from webhooks.models import Endpoint, Event, EventState

TYPE_CHOICES = [catalogue.ALL, *catalogue.EVENT_TYPES]


# --- The payload, documented for receivers ---------------------------------------------------
class CampaignStatusChangedData(serializers.Serializer):  # type: ignore[type-arg]
    class CampaignRef(serializers.Serializer):  # type: ignore[type-arg]
        id = serializers.IntegerField()
        name = serializers.CharField()

    campaign = CampaignRef()
    change = serializers.ChoiceField(choices=sorted(catalogue.CHANGES.values()))
    status = serializers.CharField(help_text="The campaign's status now.")
    previous_status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)


class AccountStatusChangedData(serializers.Serializer):  # type: ignore[type-arg]
    class AccountRef(serializers.Serializer):  # type: ignore[type-arg]
        id = serializers.IntegerField(allow_null=True, help_text="None once it was deleted.")
        name = serializers.CharField()
        from_email = serializers.EmailField()

    account = AccountRef()
    status = serializers.CharField(help_text="The account's status now: error, active, …")
    previous_status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True, help_text="The server's reply (300 chars).")


class DeliveryEventData(serializers.Serializer):  # type: ignore[type-arg]
    delivery_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    email = serializers.EmailField()
    attempt_id = serializers.IntegerField()
    outcome = serializers.CharField(help_text="The attempt's outcome: sent, temporary, …")
    smtp_code = serializers.IntegerField(allow_null=True)
    enhanced_code = serializers.CharField(allow_blank=True)
    reply = serializers.CharField(allow_blank=True, help_text="The server's reply (300 chars).")
    message_id = serializers.CharField(allow_blank=True)
    account_id = serializers.IntegerField(allow_null=True)


class RecipientUnsubscribedData(serializers.Serializer):  # type: ignore[type-arg]
    """recipient.unsubscribed made by hand (a bulk action, the API): no delivery."""

    email = serializers.EmailField()
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]


class FeedbackEventData(serializers.Serializer):  # type: ignore[type-arg]
    """delivery.bounced, .complained, .opened, .clicked, .replied, and recipient.unsubscribed
    by a message's link or a report: what came back about one delivery."""

    event_id = serializers.IntegerField(help_text="Postroom's tracking event.")
    delivery_id = serializers.IntegerField(allow_null=True)
    campaign_id = serializers.IntegerField(allow_null=True)
    email = serializers.EmailField(allow_blank=True)
    occurred_at = serializers.DateTimeField()
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["link", "mailbox", "esp", "smtp", "manual"],
        help_text="Where it came from: a tracking link, a bounce mailbox, an e-mail service.",
    )
    source_detail = serializers.CharField(
        allow_blank=True, help_text="The mailbox's name or the e-mail service."
    )
    bounce_type = serializers.ChoiceField(
        choices=["hard", "soft"], required=False, help_text="delivery.bounced only."
    )
    status_code = serializers.CharField(
        required=False, allow_blank=True, help_text="delivery.bounced: RFC 3463, e.g. 5.1.1."
    )
    diagnostic = serializers.CharField(
        required=False, allow_blank=True, help_text="delivery.bounced: the report (300 chars)."
    )
    feedback_type = serializers.CharField(
        required=False, help_text="delivery.complained: abuse, fraud, …"
    )
    machine = serializers.BooleanField(
        required=False,
        help_text="delivery.opened and .clicked: true when a program (privacy proxy, image "
        "cache, link scanner) made it, not a person.",
    )
    link_index = serializers.IntegerField(
        required=False, allow_null=True, help_text="delivery.clicked: the link's index."
    )
    url = serializers.CharField(required=False, help_text="delivery.clicked: the link followed.")
    snippet = serializers.CharField(
        required=False, allow_blank=True, help_text="delivery.replied: the reply (300 chars)."
    )
    sender = serializers.CharField(
        required=False,
        help_text="delivery.replied: who wrote the reply (its From), which need not be `email`.",
    )


class WebhookTestData(serializers.Serializer):  # type: ignore[type-arg]
    message = serializers.CharField()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="WebhookEventData",
        serializers=[
            AccountStatusChangedData,
            CampaignStatusChangedData,
            DeliveryEventData,
            FeedbackEventData,
            RecipientUnsubscribedData,
            WebhookTestData,
        ],
        resource_type_field_name=None,
    )
)
class EventDataField(serializers.JSONField):
    """The event's `data`, whose shape depends on its `type`."""


class WebhookEventSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField(help_text="Stable: the same event always has the same id.")
    type = serializers.CharField(
        help_text="One of " + ", ".join([*catalogue.EVENT_TYPES, catalogue.TEST]) + "."
    )
    created = serializers.DateTimeField()
    workspace_id = serializers.IntegerField()
    data = EventDataField()  # type: ignore[assignment]


class WebhookPayloadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The body of every request: one or more events (up to 100 per request)."""

    events = WebhookEventSerializer(many=True)


@extend_schema_field(WebhookPayloadSerializer)
class PayloadField(serializers.JSONField):
    """The request body as it was sent."""


# --- Endpoints --------------------------------------------------------------------------------
class EndpointSerializer(serializers.ModelSerializer[Endpoint]):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=TYPE_CHOICES),
        help_text='Event types to send; "*" is every type, later ones included.',
    )

    class Meta:
        model = Endpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "description",
            "events",
            "active",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "created_at",
        )
        read_only_fields = (
            "id",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "created_at",
        )


STANDARD_FORM_HELP = (
    "The secret as Standard Webhooks verifiers take it, to verify webhook-signature: the "
    "same string as `secret` (kept for clients written when the two differed). Shown here only."
)


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Shown here only: it verifies webhook-signature and Postroom-Signature.",
    )
    standard_webhooks_secret = serializers.CharField(read_only=True, help_text=STANDARD_FORM_HELP)

    class Meta(EndpointSerializer.Meta):
        fields = (*EndpointSerializer.Meta.fields, "secret", "standard_webhooks_secret")


class SecretSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    secret = serializers.CharField(help_text="The new secret, shown once.")
    standard_webhooks_secret = serializers.CharField(help_text=STANDARD_FORM_HELP)
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="Until then requests also carry a signature with the old secret."
    )


class WebhookDeliverySerializer(QuickRows, serializers.ModelSerializer[Event]):
    event_id = serializers.UUIDField(
        source="uuid", help_text="Sent as Postroom-Event-Id and webhook-id."
    )
    payload = PayloadField(read_only=True)

    class Meta:
        model = Event
        fields = (
            "id",
            "event_id",
            "event_type",
            "event_count",
            "state",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "delivered_at",
            "created_at",
            "payload",
        )
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.CharField()
    description = serializers.CharField()


def _issued(issued: services.IssuedSecret) -> dict[str, Any]:
    data = dict(EndpointSerializer(issued.endpoint).data)
    data["secret"] = issued.secret
    data["standard_webhooks_secret"] = issued.standard_secret
    return data


@extend_schema_view(
    list=extend_schema(summary="List the workspace's webhook endpoints"),
    retrieve=extend_schema(summary="A webhook endpoint"),
    create=extend_schema(
        summary="Add a webhook endpoint (its secret is in this response only)",
        responses={201: EndpointWithSecretSerializer},
    ),
    update=extend_schema(summary="Change a webhook endpoint"),
    partial_update=extend_schema(summary="Change part of a webhook endpoint"),
    destroy=extend_schema(summary="Delete a webhook endpoint and its queued requests"),
)
@extend_schema(tags=["webhooks"])
class WebhookEndpointsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[Endpoint],
):
    serializer_class = EndpointSerializer
    pagination_class = PagePagination
    lookup_url_kwarg = "endpoint_id"
    lookup_value_regex = "[0-9]+"
    required_role = Role.OWNER

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Endpoint]:
        return selectors.endpoints(workspace)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.endpoint_create(
            workspace=self.workspace,
            url=data.validated_data["url"],
            events=data.validated_data["events"],
            description=data.validated_data.get("description", ""),
            created_by=request.user if isinstance(request.user, User) else None,
        )
        if data.validated_data.get("active") is False:
            services.endpoint_update(endpoint=issued.endpoint, active=False)
            issued.endpoint.refresh_from_db()
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        partial = kwargs.get("partial", False)
        data = self.get_serializer(endpoint, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = services.endpoint_update(
            endpoint=endpoint,
            url=values.get("url"),
            events=values.get("events"),
            description=values.get("description"),
            active=values.get("active"),
        )
        return Response(EndpointSerializer(endpoint).data)

    def perform_destroy(self, instance: Endpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(
        request=None, responses=SecretSerializer, summary="Replace the endpoint's secret"
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request: Request, endpoint_id: int) -> Response:
        issued = services.endpoint_rotate_secret(endpoint=self.get_object())
        body = {
            "id": issued.endpoint.pk,
            "secret": issued.secret,
            "standard_webhooks_secret": issued.standard_secret,
            "previous_secret_expires_at": issued.endpoint.previous_secret_expires_at,
        }
        return Response(SecretSerializer(body).data)

    @extend_schema(
        request=None,
        responses=WebhookDeliverySerializer,
        summary="Send a webhook.test event now and answer with its outcome",
    )
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def send_test(self, request: Request, endpoint_id: int) -> Response:
        event = services.event_send_test(endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(event).data)

    @extend_schema(
        responses=EventTypeSerializer(many=True), summary="The event types an endpoint can want"
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="event-types",
        url_name="event-types",
        pagination_class=None,
    )
    def event_types(self, request: Request) -> Response:
        rows = [{"type": t, "description": d} for t, d in catalogue.EVENT_TYPES.items()]
        return Response(EventTypeSerializer(rows, many=True).data)


class WebhookDeliveryFilterSet(WorkspaceFilterSet):
    # Given at all, even empty, the state must be one of them (as it always was).
    state = QueryFilter(
        "state",
        parse=one_of(EventState.values, "Choose one of {choices}."),
        strip=False,
        keep_empty=True,
        schema=string_schema("Only these.", EventState.values),
    )


@extend_schema_view(
    list=extend_schema(summary="Requests sent (or to send) to an endpoint, newest first"),
    retrieve=extend_schema(summary="One request to an endpoint, with its payload"),
)
@extend_schema(tags=["webhooks"])
class WebhookDeliveriesApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[Event]
):
    """The outbox of one endpoint: /api/webhooks/{endpoint_id}/deliveries/."""

    serializer_class = WebhookDeliverySerializer
    pagination_class = LargeCursorPagination
    lookup_url_kwarg = "event_id"
    required_role = Role.OWNER
    queryset = Event.objects.none()  # the model, for the schema; rows: workspace_queryset
    filter_backends = (ListFilterBackend,)
    filterset_class = WebhookDeliveryFilterSet

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Event]:
        endpoint = selectors.endpoint_get(workspace, int(self.kwargs["endpoint_id"]))
        if endpoint is None:
            raise NotFound(_("No such webhook endpoint."))
        return selectors.events_of(endpoint)

    @extend_schema(
        request=None,
        responses=WebhookDeliverySerializer,
        summary="Try a pending or failed request again now",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, endpoint_id: int, event_id: int) -> Response:
        event = services.event_retry_now(event=self.get_object())
        return Response(WebhookDeliverySerializer(event).data)
