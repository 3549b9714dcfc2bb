"""/api/lists/: lists with their member counts, and adding or removing members."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Workspace
from audience import selectors, services
from audience.api.common import MAX_ITEMS
from audience.emails import InvalidEmail, normalize_email
from audience.models import Recipient, RecipientList
from core.api.params import id_field


class RecipientListOut(serializers.ModelSerializer[RecipientList]):
    members = serializers.IntegerField(source="size", read_only=True)

    class Meta:
        model = RecipientList
        fields = ("id", "name", "description", "members", "created_at")
        read_only_fields = fields


class RecipientListWrite(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class MembersIn(serializers.Serializer[Any]):
    ids = serializers.ListField(child=id_field(), required=False, max_length=MAX_ITEMS)
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=MAX_ITEMS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("ids") and not attrs.get("emails"):
            raise serializers.ValidationError({"ids": [_("Give recipient `ids` or `emails`.")]})
        return attrs


class MembersOut(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="Recipients added or removed")
    not_found = serializers.ListField(
        child=serializers.CharField(), help_text="Ids and addresses that are no recipient here"
    )


def _recipient_ids(workspace: Workspace, data: dict[str, Any]) -> tuple[list[int], list[str]]:
    """The workspace's recipients named by id or address, and the names that match none."""
    ids = list(dict.fromkeys(data.get("ids") or []))
    emails: dict[str, str] = {}
    missing: list[str] = []
    for raw in data.get("emails") or []:
        try:
            emails[normalize_email(raw)] = raw
        except InvalidEmail:
            missing.append(raw)
    mine = Recipient.objects.filter(workspace=workspace)
    found_ids = set(mine.filter(pk__in=ids).values_list("pk", flat=True))
    by_email = dict(mine.filter(email__in=list(emails)).values_list("email", "pk"))
    missing += [str(pk) for pk in ids if pk not in found_ids]
    missing += [raw for email, raw in emails.items() if email not in by_email]
    return sorted(found_ids | set(by_email.values())), missing


@extend_schema(tags=["lists"])
@extend_schema_view(
    list=extend_schema(summary="List lists with their member counts"),
    retrieve=extend_schema(summary="One list"),
    destroy=extend_schema(summary="Delete a list (its recipients stay)"),
)
class ListsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[RecipientList],
):
    serializer_class = RecipientListOut
    lookup_url_kwarg = "list_id"
    lookup_value_regex = r"\d+"

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[RecipientList]:
        return selectors.lists_with_counts(workspace).order_by("name", "id")

    def _out(self, recipient_list: RecipientList) -> dict[str, Any]:
        return dict(RecipientListOut(self.get_queryset().get(pk=recipient_list.pk)).data)

    @extend_schema(
        summary="Create a list", request=RecipientListWrite, responses={201: RecipientListOut}
    )
    def create(self, request: Request) -> Response:
        given = RecipientListWrite(data=request.data)
        given.is_valid(raise_exception=True)
        made = services.list_create(workspace=self.workspace, **given.validated_data)
        return Response(self._out(made), status=status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        recipient_list = self.get_object()
        given = RecipientListWrite(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        services.list_update(
            recipient_list=recipient_list,
            name=data.get("name", recipient_list.name),
            description=data.get("description", recipient_list.description),
        )
        return Response(self._out(recipient_list))

    @extend_schema(summary="Rename a list", request=RecipientListWrite)
    def update(self, request: Request, list_id: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(summary="Change a list's name or description", request=RecipientListWrite)
    def partial_update(self, request: Request, list_id: str) -> Response:
        return self._update(request, partial=True)

    def perform_destroy(self, instance: RecipientList) -> None:
        services.list_delete(recipient_list=instance)

    @extend_schema(
        summary="Add recipients to the list (or DELETE: remove them), by id or address",
        request=MembersIn,
        responses=MembersOut,
    )
    @action(detail=True, methods=["post", "delete"])
    def members(self, request: Request, list_id: str) -> Response:
        recipient_list = self.get_object()
        given = MembersIn(data=request.data)
        given.is_valid(raise_exception=True)
        ids, missing = _recipient_ids(self.workspace, given.validated_data)
        count = services.recipients_bulk_apply(
            workspace=self.workspace,
            action="add_to_list" if request.method == "POST" else "remove_from_list",
            ids=ids,
            recipient_list=recipient_list,
        )
        return Response(MembersOut({"count": count, "not_found": missing}).data)
