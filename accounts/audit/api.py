"""The audit log in the API: a workspace's entries, for its owners (and their keys)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.permissions import BasePermission

from accounts.api.access import WorkspaceRole, api_access
from accounts.api.viewsets import WorkspaceViewSet
from accounts.audit import selectors
from accounts.audit.models import AuditEntry
from accounts.models import Role, Workspace
from core.api.pagination import KeysetPagination
from core.api.representation import QuickRows


class AuditEntrySerializer(QuickRows, serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = (
            "id",
            "created_at",
            "actor_email",
            "via",
            "ip",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "detail",
        )
        read_only_fields = fields


class OwnersOnly(BasePermission):
    """The log names who did what: owners read it, as in the web interface."""

    message = "Only owners of the workspace read its audit log."

    def has_permission(self, request: Any, view: Any) -> bool:
        return Role.rank(api_access(request).role) >= Role.rank(Role.OWNER)


FILTERS = [
    OpenApiParameter("action", str, description="One action, e.g. `api_key.created`."),
    OpenApiParameter("actor", str, description="Part of the actor's e-mail address."),
    OpenApiParameter("since", str, description="From this date (YYYY-MM-DD)."),
    OpenApiParameter("until", str, description="To this date (YYYY-MM-DD)."),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
@extend_schema(tags=["audit log"])
class AuditLogApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[AuditEntry]):
    queryset = AuditEntry.objects.none()  # only for the schema; see workspace_queryset
    serializer_class = AuditEntrySerializer
    pagination_class = KeysetPagination  # a log kept for years: keyset pages
    permission_classes = (WorkspaceRole, OwnersOnly)
    lookup_url_kwarg = "audit_entry_id"

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[AuditEntry]:
        return selectors.entries(workspace, self.request.query_params)
