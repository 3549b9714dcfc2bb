"""/api/recipients/: list (keyset pages and filters), create, read, change, delete, erase.

An address that another recipient of the workspace has already answers 409 with the code
`email_taken` (on create and on a change of address), so that a client can tell it from a
malformed request (400) and look the existing recipient up instead.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Workspace
from audience import selectors, services
from audience.api.filters import FIELD_HELP, PARAMETERS, recipients_for_query
from audience.api.paging import ORDERING_PARAMETER, RecipientKeysetPagination
from audience.fields import JsonValue
from audience.models import (
    STANDARD_FIELDS,
    VALUE_MAX_CHARS,
    Recipient,
    RecipientStatus,
)
from audience.upsert import as_text
from core.api.errors import Conflict
from core.api.fields import RelatedIds
from core.api.representation import QuickRows

EDITABLE = (*STANDARD_FIELDS[1:], "status")
TAKEN_HELP = "Another recipient has this address (error code `email_taken`)."
CUSTOM_HELP = (
    "Custom field values by key: text, numbers or booleans, converted to the field's type as "
    "the UI converts them (dates as YYYY-MM-DD). Keys not given keep their value."
)


class RecipientOut(QuickRows, serializers.ModelSerializer[Recipient]):
    list_ids = RelatedIds("lists")

    class Meta:
        model = Recipient
        fields = (
            "id",
            *STANDARD_FIELDS,
            "status",
            "fields",
            "list_ids",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class RecipientWrite(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    first_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=200, required=False, allow_blank=True)
    comment = serializers.CharField(max_length=VALUE_MAX_CHARS, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=RecipientStatus.choices, required=False)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "fields" cannot be a class attribute: Serializer.fields is taken.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.JSONField(), required=False, help_text=CUSTOM_HELP
        )
        return fields


class RecipientErase(serializers.Serializer[Any]):
    keep_blocked = serializers.BooleanField(
        default=False,
        help_text="Keep the bare address on the suppression list so that it is never mailed.",
    )


def custom_values(workspace: Workspace, given: dict[str, Any]) -> dict[str, JsonValue]:
    """Custom values typed as the UI stores them; a 400 naming each bad key under `fields`."""
    known = set(selectors.custom_fields(workspace).values_list("key", flat=True))
    errors: dict[str, list[str]] = {}
    raw: dict[str, str] = {}
    for key, value in given.items():
        text = as_text(value)
        if key not in known:
            errors[key] = [f"There is no custom field {key!r} in this workspace."]
        elif text is None:
            errors[key] = ["Give text, a number or a boolean."]
        else:
            raw[key] = text
    try:
        values = services.clean_custom_values(workspace, raw)
    except DjangoValidationError as exc:
        errors |= {name.removeprefix("field_"): m for name, m in exc.message_dict.items()}
    if errors:
        raise serializers.ValidationError({"fields": errors})
    return values


@extend_schema(tags=["recipients"])
@extend_schema_view(
    list=extend_schema(
        summary="List recipients (keyset pages)",
        description="Pages follow `next`; there is no total (tables of millions)." + FIELD_HELP,
        parameters=[*PARAMETERS, ORDERING_PARAMETER],
    ),
    retrieve=extend_schema(summary="One recipient"),
    destroy=extend_schema(summary="Delete a recipient (its suppression entry stays)"),
)
class RecipientsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[Recipient],
):
    serializer_class = RecipientOut
    pagination_class = RecipientKeysetPagination
    lookup_url_kwarg = "recipient_id"
    lookup_value_regex = r"\d+"

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Recipient]:
        return Recipient.objects.filter(workspace=workspace)

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        if self.action != "list":
            return queryset
        return recipients_for_query(self.workspace, self.request.query_params)

    def _write(self, request: Request, recipient: Recipient | None, partial: bool) -> Recipient:
        given = RecipientWrite(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        values = {name: data[name] for name in EDITABLE if name in data}
        fields = custom_values(self.workspace, data.get("fields") or {})
        try:
            if recipient is None:
                return services.recipient_create(
                    workspace=self.workspace, email=data["email"], values=values, fields=fields
                )
            email = data.get("email", recipient.email)
            return services.recipient_update(
                recipient=recipient, email=email, values=values, fields=fields
            )
        except services.EmailTaken as exc:
            raise Conflict(exc.messages[0], code="email_taken") from exc

    @extend_schema(
        summary="Create a recipient",
        request=RecipientWrite,
        responses={201: RecipientOut, 409: OpenApiResponse(description=TAKEN_HELP)},
    )
    def create(self, request: Request) -> Response:
        recipient = self._write(request, None, partial=False)
        return Response(RecipientOut(recipient).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a recipient",
        request=RecipientWrite,
        responses={200: RecipientOut, 409: OpenApiResponse(description=TAKEN_HELP)},
    )
    def update(self, request: Request, recipient_id: str) -> Response:
        recipient = self._write(request, self.get_object(), partial=False)
        return Response(RecipientOut(recipient).data)

    @extend_schema(
        summary="Change some of a recipient's values",
        request=RecipientWrite,
        responses={200: RecipientOut, 409: OpenApiResponse(description=TAKEN_HELP)},
    )
    def partial_update(self, request: Request, recipient_id: str) -> Response:
        recipient = self._write(request, self.get_object(), partial=True)
        return Response(RecipientOut(recipient).data)

    def perform_destroy(self, instance: Recipient) -> None:
        services.recipient_delete(recipient=instance)

    @extend_schema(
        summary="Everything stored about a recipient (subject access request)",
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def data(self, request: Request, recipient_id: str) -> Response:
        return Response(selectors.recipient_data(self.get_object()))

    @extend_schema(
        summary="Erase everything stored about a recipient (right to erasure)",
        request=RecipientErase,
        responses={204: None},
    )
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, recipient_id: str) -> Response:
        recipient = self.get_object()
        given = RecipientErase(data=request.data)
        given.is_valid(raise_exception=True)
        services.recipient_erase(
            recipient=recipient, keep_blocked=given.validated_data["keep_blocked"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
