"""/api/custom-fields/: the workspace's custom fields (a key, once made, never changes)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Workspace
from audience import selectors, services
from audience.models import CustomField, CustomFieldType, field_key_validator
from core.api.errors import Conflict


class CustomFieldOut(serializers.ModelSerializer[CustomField]):
    class Meta:
        model = CustomField
        fields = ("id", "key", "label", "type", "choices", "created_at")
        read_only_fields = fields


class CustomFieldWrite(serializers.Serializer[Any]):
    def validate_key(self, value: str) -> str:
        key = value.strip().lower()
        field_key_validator(key)  # DRF reports Django's ValidationError under "key"
        return key

    key = serializers.CharField(max_length=63, help_text="Used in templates as {key}; fixed.")
    # Declared fields are taken off the class, so Field.label stays as it is.
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=120, required=False, allow_blank=True
    )
    type = serializers.ChoiceField(choices=CustomFieldType.choices, default=CustomFieldType.TEXT)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=500
    )


@extend_schema(tags=["custom fields"])
@extend_schema_view(
    list=extend_schema(summary="List custom fields"),
    retrieve=extend_schema(summary="One custom field"),
)
class CustomFieldsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[CustomField],
):
    serializer_class = CustomFieldOut
    lookup_url_kwarg = "field_id"
    lookup_value_regex = r"\d+"

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[CustomField]:
        return selectors.custom_fields(workspace).order_by("created_at", "id")

    @extend_schema(
        summary="Define a custom field", request=CustomFieldWrite, responses={201: CustomFieldOut}
    )
    def create(self, request: Request) -> Response:
        given = CustomFieldWrite(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        field = services.custom_field_create(
            workspace=self.workspace,
            key=data["key"],
            label=data.get("label", ""),
            type=data["type"],
            choices=data.get("choices", []),
        )
        return Response(CustomFieldOut(field).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        field = self.get_object()
        given = CustomFieldWrite(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if not partial and "type" not in request.data:
            raise serializers.ValidationError({"type": [_("This field is required.")]})
        if data.get("key", field.key) != field.key:
            raise serializers.ValidationError(
                {"key": [_("A field's key cannot change: templates use it.")]}
            )
        field = services.custom_field_update(
            field=field,
            label=data.get("label", field.label),
            type=data.get("type", field.type),
            choices=data.get("choices", field.choices),
        )
        return Response(CustomFieldOut(field).data)

    @extend_schema(summary="Change a field's label, type or choices", request=CustomFieldWrite)
    def update(self, request: Request, field_id: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change some of a field's label, type or choices", request=CustomFieldWrite
    )
    def partial_update(self, request: Request, field_id: str) -> Response:
        return self._update(request, partial=True)

    @extend_schema(
        summary="Delete a field (stored values stay, unshown); 409 while a template reads "
        "it, unless ?force=true",
        responses={
            204: None,
            409: OpenApiResponse(description="Templates read the field; nothing was deleted."),
        },
        parameters=[
            OpenApiParameter(
                "force", bool, description="Delete even though templates read the field."
            )
        ],
    )
    def destroy(self, request: Request, field_id: str) -> Response:
        field = self.get_object()
        users = selectors.custom_field_users(field)
        if users and request.query_params.get("force") not in ("true", "1"):
            raise Conflict(
                f"{field.key} is used by {', '.join(users)}: those would send it empty, and "
                "campaigns could not start with them. Remove it there, or delete with "
                "?force=true."
            )
        services.custom_field_delete(field=field)
        return Response(status=status.HTTP_204_NO_CONTENT)
