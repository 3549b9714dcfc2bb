"""/api/suppressions/: addresses never to be mailed. Editors add; only owners remove."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Role, Workspace
from audience import selectors, services
from audience.api.common import MAX_ITEMS
from audience.models import Suppression, SuppressionReason
from core.api.filters import (
    ListFilterBackend,
    QueryFilter,
    WorkspaceFilterSet,
    one_of,
    string_schema,
)
from core.api.pagination import KeysetPagination
from core.api.representation import QuickRows


class SuppressionOut(QuickRows, serializers.ModelSerializer[Suppression]):
    class Meta:
        model = Suppression
        fields = ("id", "email", "reason", "source", "created_at")
        read_only_fields = fields


class SuppressionWrite(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    reason = serializers.ChoiceField(
        choices=SuppressionReason.choices, default=SuppressionReason.MANUAL
    )


class SuppressionImportIn(serializers.Serializer[Any]):
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=MAX_ITEMS,
        help_text="Addresses to block",
    )
    file = serializers.FileField(
        required=False, help_text="Or a CSV file (multipart), addresses in its first column"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("emails" in attrs) == ("file" in attrs):
            raise serializers.ValidationError({"emails": [_("Give either `emails` or a `file`.")]})
        upload = attrs.get("file")
        if upload is not None and upload.size > settings.AUDIENCE_IMPORT_MAX_BYTES:
            raise serializers.ValidationError({"file": [_("The file is too large.")]})
        return attrs


class SuppressionImportOut(serializers.Serializer[Any]):
    added = serializers.IntegerField(help_text="Addresses newly blocked")
    invalid = serializers.ListField(child=serializers.CharField())


def _no_null(raw: str, zone: tzinfo) -> str:
    """PostgreSQL cannot compare text holding a NUL character."""
    if "\x00" in raw:
        raise ValueError("Null characters are not allowed.")
    return raw


class SuppressionFilterSet(WorkspaceFilterSet):
    reason = QueryFilter(
        "reason",
        parse=one_of(SuppressionReason.values, "Use one of {choices}."),
        schema=string_schema(enum=SuppressionReason.values),
    )
    q = QueryFilter(
        method=lambda qs, _name, value: selectors.suppressions_matching(qs, value),
        parse=_no_null,
        schema=string_schema("An address (that entry), or part of one (matched anywhere)"),
    )


@extend_schema(tags=["suppressions"])
@extend_schema_view(
    list=extend_schema(summary="List blocked addresses"),
    retrieve=extend_schema(summary="One blocked address"),
    destroy=extend_schema(summary="Unblock an address (owners only)"),
)
class SuppressionsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[Suppression],
):
    serializer_class = SuppressionOut
    # Lists of millions (imported from the service a workspace came from): keyset pages.
    pagination_class = KeysetPagination
    lookup_url_kwarg = "suppression_id"
    lookup_value_regex = r"\d+"
    parser_classes = (JSONParser, MultiPartParser, FormParser)
    queryset = Suppression.objects.none()  # the model, for the schema; rows: workspace_queryset
    filter_backends = (ListFilterBackend,)
    filterset_class = SuppressionFilterSet

    @property
    def required_role(self) -> str:
        return Role.OWNER if self.action == "destroy" else Role.EDITOR

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Suppression]:
        return selectors.suppressions_of(workspace)  # ordered by its pages (KeysetPagination)

    @extend_schema(
        summary="Block an address (an address blocked already answers 200 as it is)",
        request=SuppressionWrite,
        responses={201: SuppressionOut, 200: SuppressionOut},
    )
    def create(self, request: Request) -> Response:
        given = SuppressionWrite(data=request.data)
        given.is_valid(raise_exception=True)
        existed = selectors.is_suppressed(self.workspace, given.validated_data["email"])
        entry = services.suppression_add(
            workspace=self.workspace,
            email=given.validated_data["email"],
            reason=given.validated_data["reason"],
            source=_source(request),
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(SuppressionOut(entry).data, status=code)

    def perform_destroy(self, instance: Suppression) -> None:
        services.suppression_remove(suppression=instance)

    @extend_schema(
        summary="Block many addresses: a JSON list or a CSV file",
        request={
            "application/json": SuppressionImportIn,
            "multipart/form-data": SuppressionImportIn,
        },
        responses=SuppressionImportOut,
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_addresses(self, request: Request) -> Response:
        given = SuppressionImportIn(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data.get("file")
        lines = (
            (chunk.decode("utf-8-sig", errors="replace") for chunk in upload)
            if upload is not None
            else iter(given.validated_data["emails"])
        )
        added, invalid = services.suppression_import(
            workspace=self.workspace,
            lines=lines,
            reason=SuppressionReason.MANUAL,
            source="API import",
        )
        return Response({"added": added, "invalid": invalid})


def _source(request: Request) -> str:
    email = getattr(request.user, "email", "")
    return f"added by {email} through the API" if email else "added through the API"
