"""Many recipients in one call: the bulk upsert, and bulk actions on a selection."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from accounts.models import User, Workspace
from audience import selectors, services
from audience.api.common import MAX_ITEMS, LargeJsonParser
from audience.api.jobs import BulkJobOut
from audience.models import VALUE_MAX_CHARS, AudienceJob, RecipientList, RecipientStatus
from audience.segments import SegmentError
from core.api.params import id_field


class BulkRecipientRow(serializers.Serializer[Any]):
    """One recipient of a bulk upsert (documentation; rows are checked one by one)."""

    email = serializers.CharField()
    first_name = serializers.CharField(required=False, allow_blank=True)
    last_name = serializers.CharField(required=False, allow_blank=True)
    company = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True)
    comment = serializers.CharField(max_length=VALUE_MAX_CHARS, required=False, allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(child=serializers.JSONField(), required=False)
        return fields


@extend_schema_field(BulkRecipientRow)
class _Row(serializers.Field[Any, Any, Any, Any]):
    """A row passed on as it came: a bad row is reported with its index, not a 400."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class BulkUpsertIn(serializers.Serializer[Any]):
    recipients = serializers.ListField(child=_Row(), allow_empty=False)
    list_ids = serializers.ListField(child=id_field(), required=False, default=list, max_length=100)
    update_existing = serializers.BooleanField(
        default=True,
        help_text="Change recipients that exist already (given values only; custom values "
        "merged). When false they are counted as unchanged.",
    )

    def validate_recipients(self, rows: list[Any]) -> list[Any]:
        if len(rows) > services.UPSERT_MAX:
            raise serializers.ValidationError(
                _(
                    "At most %(most)s recipients per call; this one has %(given)s. Send them in "
                    "several calls."
                )
                % {"most": f"{services.UPSERT_MAX:,}", "given": f"{len(rows):,}"},
                code="too_many",
            )
        return rows


class BulkRejection(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="Position of the row in `recipients`")
    email = serializers.CharField()
    # Declared fields are taken off the class, so Serializer.errors stays as it is.
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]


class BulkUpsertOut(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = BulkRejection(many=True)


def lists_by_id(workspace: Workspace, ids: list[int], name: str) -> list[RecipientList]:
    """The workspace's lists with these ids; a 400 under `name` for ids it does not have."""
    found = list(selectors.lists_of(workspace).filter(pk__in=ids))
    missing = sorted(set(ids) - {item.pk for item in found})
    if missing:
        listed = ", ".join(str(pk) for pk in missing)
        raise serializers.ValidationError(
            {name: [_("No list with id %(id)s here.") % {"id": listed}]}
        )
    return found


class RecipientsBulkUpsertApi(APIView):
    permission_classes = (WorkspaceRole,)
    parser_classes = (LargeJsonParser,)

    @extend_schema(
        tags=["recipients"],
        summary=f"Create or update up to {services.UPSERT_MAX:,} recipients",
        description="Rows are checked by the CSV importer's rules. A bad row is reported in "
        "`rejected` with its index; the good rows are written. Recipients keep their status "
        "(new ones are active).",
        request=BulkUpsertIn,
        responses=BulkUpsertOut,
    )
    def post(self, request: Request) -> Response:
        workspace = api_access(request).workspace
        given = BulkUpsertIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        outcome = services.recipients_upsert(
            workspace=workspace,
            rows=data["recipients"],
            update_existing=data["update_existing"],
            recipient_lists=lists_by_id(workspace, data["list_ids"], "list_ids"),
        )
        return Response(BulkUpsertOut(outcome).data)


class SelectionFilter(serializers.Serializer[Any]):
    """The UI's filter of the recipients table; `{}` selects every recipient."""

    q = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=RecipientStatus.choices, required=False)
    list_id = id_field(required=False, allow_null=True)
    segment_id = id_field(required=False, allow_null=True)
    field = serializers.CharField(required=False, allow_blank=True, help_text="e.g. field:age")
    op = serializers.CharField(required=False, allow_blank=True, help_text="a segment operator")
    value = serializers.CharField(required=False, allow_blank=True)


class BulkActionIn(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=list(services.BULK_ACTIONS.items()))
    list_id = id_field(
        required=False, allow_null=True, help_text="For add_to_list and remove_from_list"
    )
    ids = serializers.ListField(
        child=id_field(),
        required=False,
        allow_empty=False,
        max_length=MAX_ITEMS,
    )
    filter = SelectionFilter(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"ids": [_("Give either `ids` or `filter` (`{}` selects every recipient).")]}
            )
        return attrs


class BulkActionOut(serializers.Serializer[Any]):
    action = serializers.CharField()
    count = serializers.IntegerField(help_text="Recipients changed, or to be changed by the job")
    job = BulkJobOut(allow_null=True, help_text="The background job, past the inline limit")


class RecipientsBulkActionApi(APIView):
    """As the recipients table's bulk actions: small selections at once, large ones as a job."""

    permission_classes = (WorkspaceRole,)
    parser_classes = (JSONParser,)

    @extend_schema(
        tags=["recipients"],
        summary="Add to or remove from a list, unsubscribe or delete many recipients",
        description="Selected `ids` change at once. A `filter` that matches more than "
        "AUDIENCE_BULK_INLINE_MAX recipients becomes a background job (202, poll "
        "/api/bulk-jobs/{job_id}/).",
        request=BulkActionIn,
        responses={200: BulkActionOut, 202: BulkActionOut},
    )
    def post(self, request: Request) -> Response:
        workspace = api_access(request).workspace
        given = BulkActionIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        list_id = data.get("list_id")
        target = lists_by_id(workspace, [list_id], "list_id")[0] if list_id else None
        action = data["action"]
        ids = data.get("ids")
        if ids is None:
            try:
                job, ids = _select(request, workspace, action, data["filter"], target)
            except SegmentError as exc:
                raise serializers.ValidationError({"filter": [str(exc)]}) from exc
            if job is not None:
                body = {"action": action, "count": job.total, "job": job}
                return Response(BulkActionOut(body).data, status=status.HTTP_202_ACCEPTED)
        count = services.recipients_bulk_apply(
            workspace=workspace, action=action, ids=ids, recipient_list=target
        )
        return Response(BulkActionOut({"action": action, "count": count, "job": None}).data)


def _select(
    request: Request,
    workspace: Workspace,
    action: str,
    params: dict[str, Any],
    target: RecipientList | None,
) -> tuple[AudienceJob | None, list[int]]:
    """The ids a filter selects, or, past the UI's inline limit, a queued job over them."""
    flt = selectors.RecipientFilter.from_params(params)
    qs = selectors.recipients_matching(workspace, flt)
    limit = settings.AUDIENCE_BULK_INLINE_MAX
    if qs[: limit + 1].count() <= limit:
        return None, list(qs.values_list("pk", flat=True))
    job = services.bulk_job_create(
        workspace=workspace,
        user=request.user if isinstance(request.user, User) else None,
        action=action,
        flt=flt,
        recipient_list=target,
    )
    return job, []
