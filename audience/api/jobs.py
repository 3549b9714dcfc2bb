"""Background jobs: CSV imports (/api/imports/) and bulk actions (/api/bulk-jobs/).

An import goes as in the UI: the upload is stored and inspected (`import_upload`), its columns
are mapped and it is queued (`import_start`), and the worker runs it (`run_next_job`). With
the mapping given in the upload it is queued at once; with `start=false` it waits as a draft
showing its header, preview and proposed mapping, for `POST …/start/`. Rows the worker
refuses are listed with their line and reason, and downloadable as CSV.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import User, Workspace
from audience import selectors, services
from audience.exports import csv_lines, rejection_rows
from audience.importer import DELIMITERS, ENCODINGS, IMPORT_FIELDS, ImportFileError, auto_mapping
from audience.models import AudienceJob, CustomFieldType, JobKind, JobStatus
from core.api.errors import TooLarge
from core.api.params import id_field
from core.api.renderers import CsvRenderer
from core.digits import is_number

REPORT_ROWS = 100  # rejected rows shown inline; the CSV has them all


class JobOut(serializers.ModelSerializer[AudienceJob]):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = AudienceJob
        fields: tuple[str, ...] = (
            "id",
            "kind",
            "status",
            "percent",
            "total",
            "processed",
            "cancel_requested",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields: tuple[str, ...] = fields


class BulkJobOut(JobOut):
    action = serializers.SerializerMethodField()

    class Meta(JobOut.Meta):
        fields = (*JobOut.Meta.fields, "action")
        read_only_fields = fields

    def get_action(self, job: AudienceJob) -> str:
        return str(job.params.get("action", ""))


class RejectedRow(serializers.Serializer[Any]):
    line = serializers.IntegerField()
    email = serializers.CharField()
    reason = serializers.CharField()


class ImportJobOut(JobOut):
    """An import: `total` and `processed` count bytes of the file; the rest count rows."""

    header = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()
    mapping = serializers.SerializerMethodField()
    mode = serializers.SerializerMethodField()
    list_id = serializers.SerializerMethodField()
    rejections_url = serializers.SerializerMethodField()

    class Meta(JobOut.Meta):
        fields = (
            *JobOut.Meta.fields,
            "file_name",
            "imported",
            "updated",
            "unchanged",
            "duplicates",
            "rejected",
            "header",
            "preview",
            "mapping",
            "mode",
            "list_id",
            "rejections_url",
        )
        read_only_fields = fields

    def get_header(self, job: AudienceJob) -> list[str]:
        return list(job.params.get("header", []))

    def get_preview(self, job: AudienceJob) -> list[list[str]]:
        return list(job.params.get("preview", []))

    def get_mapping(self, job: AudienceJob) -> list[str]:
        """The target of each column; for a draft, the proposal that `start` would use."""
        if "mapping" in job.params:
            return list(job.params["mapping"])
        custom = dict(selectors.custom_fields(job.workspace).values_list("key", "label"))
        return auto_mapping(self.get_header(job), custom)

    def get_mode(self, job: AudienceJob) -> str:
        return str(job.params.get("mode", "add"))

    def get_list_id(self, job: AudienceJob) -> int | None:
        value = job.params.get("list_id")
        return int(value) if value else None

    def get_rejections_url(self, job: AudienceJob) -> str:
        request = self.context.get("request")
        return reverse("api:imports-rejections", kwargs={"job_id": job.pk}, request=request)


class ImportJobDetail(ImportJobOut):
    """An import with the first rejected rows (all of them in the CSV at `rejections_url`)."""

    rejected_rows = serializers.SerializerMethodField()
    duplicate_rows = serializers.SerializerMethodField(
        help_text="The first rows whose address came earlier in the file (skipped)."
    )

    class Meta(ImportJobOut.Meta):
        fields = (*ImportJobOut.Meta.fields, "rejected_rows", "duplicate_rows")
        read_only_fields = fields

    @extend_schema_field(RejectedRow(many=True))
    def get_rejected_rows(self, job: AudienceJob) -> list[dict[str, Any]]:
        return self._rows(job, duplicate=False)

    @extend_schema_field(RejectedRow(many=True))
    def get_duplicate_rows(self, job: AudienceJob) -> list[dict[str, Any]]:
        return self._rows(job, duplicate=True)

    def _rows(self, job: AudienceJob, *, duplicate: bool) -> list[dict[str, Any]]:
        rows = job.rejections.filter(duplicate=duplicate).values("line", "email", "reason")
        return [dict(row) for row in rows[:REPORT_ROWS]]


class _Json(serializers.Field[Any, Any, Any, Any]):
    """A JSON value, as such in a JSON body or as text in a multipart form."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                return json.loads(data)
            except ValueError as exc:
                raise serializers.ValidationError(
                    _("Not valid JSON: %(reason)s") % {"reason": exc}
                ) from exc
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "object", "additionalProperties": {"type": "string"}},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
)
class _Mapping(_Json):
    pass


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class _NewFields(_Json):
    pass


class ImportOptions(serializers.Serializer[Any]):
    mapping = _Mapping(
        required=False,
        help_text="Target of each column: an object {column name: target} (columns left out "
        "are skipped) or a list with one target per column. Targets: email, first_name, "
        "last_name, company, country, city, comment, field:<key> (a custom field), "
        "new:<key> (create that field), or '' (skip). Without it the columns are matched "
        "by name, as the UI proposes.",
    )
    email_column = serializers.CharField(
        required=False, help_text="The name of the column that holds the addresses."
    )
    new_fields = _NewFields(
        required=False,
        help_text="Types of the fields to create, {key: "
        + " | ".join(CustomFieldType.values)
        + "}; text when not given.",
    )
    list_id = id_field(
        required=False, allow_null=True, help_text="Add every imported recipient to this list."
    )
    update_existing = serializers.BooleanField(
        default=False, help_text="Update recipients that exist already (else they are skipped)."
    )


class _TrueWhenLeftOut(serializers.BooleanField):
    # A form leaves an unticked box out, so DRF reads a missing boolean as false there.
    default_empty_html = True


class ImportUploadIn(ImportOptions):
    file = serializers.FileField(help_text="A CSV file with a header row.")
    encoding = serializers.ChoiceField(
        choices=list(ENCODINGS),
        required=False,
        allow_blank=True,
        help_text="The file's encoding; detected over the whole file when left out.",
    )
    delimiter = serializers.ChoiceField(
        choices=list(DELIMITERS),
        required=False,
        allow_blank=True,
        help_text='The cell delimiter (a tab is "\\t"); detected when left out.',
    )
    start = _TrueWhenLeftOut(
        default=True,
        help_text="Queue the import at once; false keeps it as a draft (see its header, "
        "preview and proposed mapping, then POST …/start/).",
    )


def _mapping(job: AudienceJob, options: dict[str, Any]) -> list[str]:
    """One target per column from the options; a 400 for a target the workspace lacks."""
    header: list[str] = job.params["header"]
    keys = dict(selectors.custom_fields(job.workspace).values_list("key", "label"))
    given = options.get("mapping")
    if given is None:
        mapping = auto_mapping(header, keys)
    elif isinstance(given, list) and len(given) == len(header):
        mapping = [str(t or "") for t in given]
    elif isinstance(given, dict) and not set(given) - set(header):
        mapping = [str(given.get(name) or "") for name in header]
    else:
        raise serializers.ValidationError(
            {
                "mapping": [
                    _("Map the columns by name or give one target each; they are %(header)s.")
                    % {"header": header}
                ]
            }
        )
    column = options.get("email_column")
    if column is not None:
        if column not in header:
            raise serializers.ValidationError(
                {"email_column": [_("No column %(name)s.") % {"name": repr(column)}]}
            )
        mapping = ["" if t == "email" else t for t in mapping]
        mapping[header.index(column)] = "email"
    allowed = {*IMPORT_FIELDS, *(f"field:{key}" for key in keys), ""}
    wrong = [t for t in mapping if t not in allowed and not t.startswith("new:")]
    if wrong:
        raise serializers.ValidationError(
            {"mapping": [_("Unknown target(s): %(names)s.") % {"names": ", ".join(wrong)}]}
        )
    return mapping


def _start(job: AudienceJob, options: dict[str, Any]) -> AudienceJob:
    new_fields = options.get("new_fields") or {}
    if not isinstance(new_fields, dict):
        raise serializers.ValidationError({"new_fields": [_("Give an object {key: type}.")]})
    list_id = options.get("list_id")
    target = selectors.list_get(job.workspace, list_id) if list_id else None
    if list_id and target is None:
        raise serializers.ValidationError(
            {"list_id": [_("No list with id %(id)s here.") % {"id": list_id}]}
        )
    return services.import_start(
        job=job,
        mapping=_mapping(job, options),
        new_fields={str(k): str(v) for k, v in new_fields.items()},
        mode="update" if options["update_existing"] else "add",
        recipient_list=target,
    )


def _refuse_oversized(request: Request) -> None:
    """A 413 before the body is read, as the UI: a 200 MB upload is not stored to be refused."""
    limit = settings.AUDIENCE_IMPORT_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if is_number(declared) and int(declared) > limit + 64 * 1024:
        raise TooLarge(
            _(
                "The file is larger than %(limit)s MB, the largest file Postroom imports. Split "
                "it into smaller files and import them one by one."
            )
            % {"limit": f"{limit / 1e6:.0f}"}
        )


class _JobsApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[AudienceJob]):
    kind: str
    lookup_url_kwarg = "job_id"
    lookup_value_regex = r"\d+"

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[AudienceJob]:
        return selectors.jobs_of(workspace).filter(kind=self.kind).select_related("workspace")

    def _cancel(self) -> AudienceJob:
        return services.job_cancel(job=self.get_object())


@extend_schema(tags=["imports"])
class ImportsApi(_JobsApi):
    kind = JobKind.IMPORT
    serializer_class = ImportJobDetail
    parser_classes = (MultiPartParser, FormParser, JSONParser)

    def get_serializer_class(self) -> type[ImportJobOut]:
        return ImportJobOut if self.action == "list" else ImportJobDetail

    @extend_schema(
        summary="Upload a CSV file and (by default) queue its import",
        request={"multipart/form-data": ImportUploadIn},
        responses={201: ImportJobDetail},
    )
    def create(self, request: Request) -> Response:
        _refuse_oversized(request)
        given = ImportUploadIn(data=request.data)
        given.is_valid(raise_exception=True)
        options = given.validated_data
        user = request.user if isinstance(request.user, User) else None
        try:
            job = services.import_upload(
                workspace=self.workspace,
                user=user,
                upload=options["file"],
                encoding=options.get("encoding", ""),
                delimiter=options.get("delimiter", ""),
            )
        except ImportFileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        if options["start"]:
            try:
                job = _start(job, options)
            except (serializers.ValidationError, DjangoValidationError):
                services.job_cancel(job=job)  # nothing half-made stays behind
                raise
        body = ImportJobDetail(job, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Map the columns of a draft import and queue it", request=ImportOptions)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, job_id: str) -> Response:
        job = self.get_object()
        given = ImportOptions(data=request.data)
        given.is_valid(raise_exception=True)
        if job.status != JobStatus.DRAFT:
            raise serializers.ValidationError({"status": [_("This import has started already.")]})
        job = _start(job, given.validated_data)
        return Response(self.get_serializer(job).data)

    @extend_schema(summary="Stop an import (after the batch it is writing)", request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, job_id: str) -> Response:
        return Response(self.get_serializer(self._cancel()).data)

    @extend_schema(
        summary="Every rejected row with its line and reason, as CSV",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CsvRenderer])
    def rejections(self, request: Request, job_id: str) -> HttpResponse:
        job = self.get_object()
        response = StreamingHttpResponse(
            csv_lines(rejection_rows(job)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
        return cast(HttpResponse, response)


@extend_schema(tags=["recipients"])
class BulkJobsApi(_JobsApi):
    """Bulk actions too large to apply at once (see POST /api/recipients/bulk-action/)."""

    kind = JobKind.BULK
    serializer_class = BulkJobOut

    @extend_schema(summary="Stop a bulk job (after its current batch)", request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, job_id: str) -> Response:
        return Response(self.get_serializer(self._cancel()).data)
