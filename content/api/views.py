"""The templates API: templates (checked as the editor checks them), previews, attachments and
the starter gallery, all inside the caller's workspace.

A template that does not compile is a 400 naming the field, part and line at fault, and
nothing is saved (services.template_check, as in the UI).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.access import WorkspaceReader
from accounts.api.throttling import PrincipalRateThrottle
from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Workspace
from content import gallery, previews, selectors, services
from content.downloads import attachment_response
from content.forms import FIELD_OF_PART
from content.models import Template, TemplateAttachment
from content.serializers import (
    AttachmentIn,
    AttachmentOut,
    FromStarterIn,
    PreviewIn,
    PreviewOut,
    StarterOut,
    TemplateCheckOut,
    TemplateIn,
    TemplateOut,
    TemplatePartsIn,
    TemplateSummaryOut,
    warning_faults,
)
from content.syntax import ContentError, TemplateErrors, TemplateSyntaxError
from content.throttling import PreviewRateThrottle
from core.api.errors import Conflict
from core.api.filters import (
    AlwaysFilter,
    ListFilterBackend,
    QueryFilter,
    WorkspaceFilterSet,
    one_of,
    string_schema,
    text,
)

ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")


def template_faults(exc: TemplateSyntaxError) -> list[dict[str, Any]]:
    """Each fault of a template: part, input field, line, placeholder name and message."""
    errors = exc.errors if isinstance(exc, TemplateErrors) else [exc]
    return [
        {
            "part": e.part,
            "field": FIELD_OF_PART.get(e.part, "non_field_errors"),
            "line": e.line,
            "name": e.name,
            "message": str(e),
        }
        for e in errors
    ]


def _search(rows: QuerySet[Any], name: str, words: str) -> QuerySet[Any]:
    return rows.filter(Q(name__icontains=words) | Q(subject__icontains=words))


def _ordered(rows: QuerySet[Any], ordering: str | None) -> QuerySet[Any]:
    return rows.order_by(ordering or "-updated_at", "-id")


class TemplateFilterSet(WorkspaceFilterSet):
    search = QueryFilter(
        method=_search, parse=text, schema=string_schema("In the name or the subject.")
    )
    # Given at all, even empty, the ordering must be one of them (as it always was).
    ordering = AlwaysFilter(
        parse=one_of(ORDERINGS, "Order by one of: {choices}."),
        strip=False,
        keep_empty=True,
        apply=_ordered,
        schema=string_schema("Default -updated_at.", ORDERINGS),
    )


@extend_schema_view(
    list=extend_schema(
        summary="List the templates (without their bodies)",
        responses=TemplateSummaryOut(many=True),
    ),
    retrieve=extend_schema(summary="A template with its bodies and attachments"),
    create=extend_schema(
        request=TemplateIn,
        responses={201: TemplateOut},
        summary="Create a template; one that does not compile is a 400 with the line",
    ),
    update=extend_schema(request=TemplateIn, responses=TemplateOut, summary="Change a template"),
    partial_update=extend_schema(
        request=TemplateIn, responses=TemplateOut, summary="Change some fields of a template"
    ),
    destroy=extend_schema(summary="Delete a template (409 while a campaign uses it)"),
)
@extend_schema(tags=["templates"])
class TemplatesApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[Template]):
    """`/api/templates/`. A template error answers 400 in the usual shape, plus
    `error.template_errors`: [{part, field, line, name, message}]."""

    queryset = Template.objects.none()  # only for the schema; see workspace_queryset
    serializer_class = TemplateOut
    lookup_url_kwarg = "template_id"
    lookup_value_regex = "[0-9]+"
    filter_backends = (ListFilterBackend,)
    filterset_class = TemplateFilterSet

    def get_serializer_class(self) -> Any:
        return TemplateSummaryOut if self.action == "list" else TemplateOut

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Template]:
        found = selectors.templates(workspace)
        if self.action != "list":
            return found.prefetch_related("attachments")
        return found  # searched and ordered by TemplateFilterSet

    def handle_exception(self, exc: Exception) -> Response:
        faults = template_faults(exc) if isinstance(exc, TemplateSyntaxError) else None
        if faults is not None:
            detail: dict[str, list[ErrorDetail]] = {}
            for fault in faults:
                message = ErrorDetail(fault["message"], code="template_syntax")
                detail.setdefault(fault["field"], []).append(message)
            exc = ValidationError(detail)
        response = super().handle_exception(exc)
        if faults is not None and isinstance(response.data, dict):
            response.data["error"]["template_errors"] = faults
        return response

    def _out(self, template: Template, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=template.pk)  # with its attachments and count
        return Response(TemplateOut(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = TemplateIn(data=request.data)
        given.is_valid(raise_exception=True)
        template = services.template_create(workspace=self.workspace, **given.validated_data)
        return self._out(template, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        given = TemplateIn(template, data=request.data, partial=kwargs.get("partial", False))
        given.is_valid(raise_exception=True)
        fields = {name: getattr(template, name) for name in TemplateIn.Meta.fields}
        values = fields | given.validated_data
        values.pop("format")  # chosen at creation; the block editor's page switches to code
        services.template_update(template=template, **values)
        return self._out(template)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            services.template_delete(template=self.get_object())
        except ContentError as exc:
            raise Conflict(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: TemplateOut}, summary="Copy a template")
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, template_id: int) -> Response:
        copy = services.template_duplicate(template=self.get_object())
        return self._out(copy, status.HTTP_201_CREATED)

    @extend_schema(
        request=PreviewIn,
        responses=PreviewOut,
        summary="Render a template for a recipient, or with sample values (viewers too)",
        description="At most PREVIEW_RATE previews per user or key (60 a minute by default, "
        "shared with the preview pages); past it a 429 with Retry-After.",
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[WorkspaceReader],
        throttle_classes=[PrincipalRateThrottle, PreviewRateThrottle],
    )
    def preview(self, request: Request, template_id: int) -> Response:
        template = self.get_object()
        given = PreviewIn(data=request.data)
        given.is_valid(raise_exception=True)
        wanted = given.validated_data
        recipient = selectors.preview_recipient(
            self.workspace, recipient_id=wanted.get("recipient_id"), email=wanted.get("email", "")
        )
        if recipient is None and ("recipient_id" in wanted or "email" in wanted):
            field = "recipient_id" if "recipient_id" in wanted else "email"
            raise ValidationError({field: [_("There is no such recipient in this workspace.")]})
        try:
            message = previews.template_preview(
                self.workspace, template, recipient=recipient, values=wanted.get("values")
            )
        except TemplateSyntaxError:
            raise
        except ContentError as exc:
            raise ValidationError(
                {"non_field_errors": [_("No preview: %(error)s") % {"error": exc}]}
            ) from exc
        body = {
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "recipient_id": recipient.pk if recipient else None,
        }
        return Response(PreviewOut(body).data)

    @extend_schema(
        request=TemplatePartsIn,
        responses=TemplateCheckOut,
        summary="Check a template's parts without saving them",
        description="`valid` is false with the faults (part, field, line, name, message) when "
        "the parts would not be saved; a malformed request is a 400.",
    )
    @action(detail=False, methods=["post"], permission_classes=[WorkspaceReader])
    def check(self, request: Request) -> Response:
        given = TemplatePartsIn(data=request.data)
        given.is_valid(raise_exception=True)
        parts: dict[str, Any] = {"html_body": "", "text_body": "", "text_from_html": False}
        parts |= given.validated_data
        warnings = warning_faults(
            selectors.template_warnings(
                self.workspace,
                subject=parts.get("subject", ""),
                html_body=parts["html_body"],
                text_body=parts["text_body"],
            )
        )
        try:
            services.template_check(workspace=self.workspace, **parts)
        except TemplateSyntaxError as exc:
            faults = template_faults(exc)
            body = {"valid": False, "errors": faults, "warnings": warnings}
            return Response(TemplateCheckOut(body).data)
        return Response(TemplateCheckOut({"valid": True, "errors": [], "warnings": warnings}).data)

    @extend_schema(responses=StarterOut(many=True), summary="The starter templates' gallery")
    @action(detail=False, methods=["get"], pagination_class=None)
    def starters(self, request: Request) -> Response:
        return Response(StarterOut(gallery.STARTERS, many=True).data)

    @extend_schema(
        request=FromStarterIn,
        responses={201: TemplateOut},
        summary="Create a template from a starter of the gallery",
    )
    @action(detail=False, methods=["post"], url_path="from-starter", url_name="from-starter")
    def from_starter(self, request: Request) -> Response:
        given = FromStarterIn(data=request.data)
        given.is_valid(raise_exception=True)
        template = services.template_from_starter(
            workspace=self.workspace, key=given.validated_data["starter"]
        )
        return self._out(template, status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="A template's attachments"),
    retrieve=extend_schema(summary="One attachment of a template"),
    create=extend_schema(
        request={"multipart/form-data": AttachmentIn},
        responses={201: AttachmentOut},
        summary="Attach a file (multipart field `file`); sizes and types as in the UI",
    ),
    destroy=extend_schema(summary="Remove an attachment"),
)
@extend_schema(tags=["templates"])
class TemplateAttachmentsApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[TemplateAttachment]
):
    """`/api/templates/{template_id}/attachments/`: files sent with every message."""

    queryset = TemplateAttachment.objects.none()  # only for the schema
    serializer_class = AttachmentOut
    pagination_class = None  # a few files per template, bounded by the total size
    lookup_url_kwarg = "attachment_id"
    lookup_value_regex = "[0-9]+"
    parser_classes = (MultiPartParser, FormParser)

    def template(self) -> Template:
        template = selectors.template_get(self.workspace, int(self.kwargs["template_id"]))
        if template is None:
            raise NotFound(_("No such template."))
        return template

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[TemplateAttachment]:
        return TemplateAttachment.objects.filter(
            template__workspace=workspace, template=self.template()
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.template()
        given = AttachmentIn(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data["file"]
        try:
            services.attachment_check_size(size=upload.size or 0)  # before reading it
            attachment = services.attachment_add(
                template=template, filename=upload.name or "", data=upload.read()
            )
        except ContentError as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        return Response(AttachmentOut(attachment).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.attachment_delete(attachment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The attached file, as a download",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, template_id: int, attachment_id: int) -> FileResponse:
        return attachment_response(self.get_object())
