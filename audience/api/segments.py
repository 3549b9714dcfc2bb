"""/api/segments/: saved filters, validated and counted as the UI's segment editor does."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.access import WorkspaceReader
from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Workspace
from audience import selectors, services
from audience.models import Segment
from audience.segments import SegmentError

DEFINITION_HELP = (
    '{"match": "all"|"any", "conditions": [{"field": F, "op": OP, "value": V} or a nested '
    "group]}. F: email, first_name, last_name, company, country, city, comment, status, "
    "created_at, list or field:<key>."
)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class DefinitionField(serializers.JSONField):
    """A definition as JSON; PostgreSQL can neither store nor compare a NUL character."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if _holds_nul(value):
            raise serializers.ValidationError(_("Null characters are not allowed."))
        return value


class SegmentOut(serializers.ModelSerializer[Segment]):
    class Meta:
        model = Segment
        fields = ("id", "name", "definition", "created_at")
        read_only_fields = fields


class SegmentWrite(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    definition = DefinitionField(help_text=DEFINITION_HELP)


class DefinitionIn(serializers.Serializer[Any]):
    definition = DefinitionField(help_text=DEFINITION_HELP)


class CountOut(serializers.Serializer[Any]):
    count = serializers.IntegerField()


def _count(workspace: Workspace, definition: Any) -> Response:
    try:
        count = selectors.segment_count(workspace, definition)
    except SegmentError as exc:
        raise serializers.ValidationError({"definition": [str(exc)]}) from exc
    return Response({"count": count})


@extend_schema(tags=["segments"])
@extend_schema_view(
    list=extend_schema(summary="List segments"),
    retrieve=extend_schema(summary="One segment"),
    destroy=extend_schema(summary="Delete a segment"),
)
class SegmentsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[Segment],
):
    serializer_class = SegmentOut
    lookup_url_kwarg = "segment_id"
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list[Any]:
        # Counting a definition sent in a POST only reads: viewers may do it, as in the UI.
        if self.action == "count_definition":
            return [WorkspaceReader()]
        return list(super().get_permissions())

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Segment]:
        return selectors.segments_of(workspace).order_by("name", "id")

    @extend_schema(summary="Save a segment", request=SegmentWrite, responses={201: SegmentOut})
    def create(self, request: Request) -> Response:
        given = SegmentWrite(data=request.data)
        given.is_valid(raise_exception=True)
        segment = services.segment_save(workspace=self.workspace, **given.validated_data)
        return Response(SegmentOut(segment).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        segment = self.get_object()
        given = SegmentWrite(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        segment = services.segment_save(
            workspace=self.workspace,
            name=data.get("name", segment.name),
            definition=data.get("definition", segment.definition),
            segment=segment,
        )
        return Response(SegmentOut(segment).data)

    @extend_schema(summary="Change a segment", request=SegmentWrite)
    def update(self, request: Request, segment_id: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(summary="Change a segment's name or definition", request=SegmentWrite)
    def partial_update(self, request: Request, segment_id: str) -> Response:
        return self._update(request, partial=True)

    def perform_destroy(self, instance: Segment) -> None:
        services.segment_delete(segment=instance)

    @extend_schema(summary="How many recipients the segment selects now", responses=CountOut)
    @action(detail=True, methods=["get"])
    def count(self, request: Request, segment_id: str) -> Response:
        return _count(self.workspace, self.get_object().definition)

    @extend_schema(
        summary="Count the recipients a definition selects, without saving it",
        request=DefinitionIn,
        responses=CountOut,
    )
    @action(detail=False, methods=["post"], url_path="count", url_name="count-definition")
    def count_definition(self, request: Request) -> Response:
        given = DefinitionIn(data=request.data)
        given.is_valid(raise_exception=True)
        return _count(self.workspace, given.validated_data["definition"])
