"""The notifications API: /api/notifications/ lists the caller's own notifications of the
workspace (newest first), marks one or all read.

Any role may read and mark its own; an API key has no person behind it, so it has no
notifications (an empty list, 404 for an id, and 403 for marking).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.access import api_access
from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import User, Workspace
from core.api.filters import AlwaysFilter, ListFilterBackend, WorkspaceFilterSet, boolean_schema
from core.api.pagination import PagePagination
from core.api.representation import QuickRows
from notifications import selectors, services
from notifications.kinds import path_of, text_of
from notifications.models import Notification


class OwnRows(BasePermission):
    """Any member may read and mark their own notifications; a manager's read-only look
    changes nothing."""

    def has_permission(self, request: Request, view: object) -> bool:
        access = api_access(request)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if access.manager_view:
            raise exceptions.PermissionDenied(_("Platform managers see workspaces read-only."))
        if access.via == "api_key" and getattr(view, "action", None) == "read_all":
            raise exceptions.PermissionDenied(KEY_REFUSED)
        return True

    def has_object_permission(self, request: Request, view: object, obj: object) -> bool:
        # Checked after the id was found in the caller's workspace: another workspace's id
        # stays a 404, this one's a refusal.
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and api_access(request).via == "api_key"
        ):
            raise exceptions.PermissionDenied(KEY_REFUSED)
        return True


KEY_REFUSED = "An API key has no notifications to mark: use a person's token."


class NotificationSerializer(QuickRows, serializers.ModelSerializer[Notification]):
    text = serializers.SerializerMethodField(help_text="The sentence, in the request's language.")
    path = serializers.SerializerMethodField(help_text="The page of the subject, or empty.")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = (
            "id",
            "kind",
            "text",
            "subject_name",
            "subject_id",
            "reason",
            "path",
            "read",
            "read_at",
            "created_at",
        )
        read_only_fields = fields

    def get_text(self, obj: Notification) -> str:
        return text_of(obj.kind, obj.subject_name)

    def get_path(self, obj: Notification) -> str:
        return path_of(obj.kind, obj.subject_id)

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class MarkedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    marked = serializers.IntegerField(help_text="How many were unread and are read now.")


def _unread(rows: QuerySet[Any], unread: bool | None) -> QuerySet[Any]:
    return rows.filter(read_at__isnull=True) if unread else rows


class NotificationFilterSet(WorkspaceFilterSet):
    # Only "1" and "true" ask for the unread ones; any other value is the whole list.
    unread = AlwaysFilter(
        parse=lambda raw, zone: raw in ("1", "true"),
        strip=False,
        apply=_unread,
        schema=boolean_schema("Only the unread ones."),
    )


@extend_schema_view(
    list=extend_schema(summary="Your notifications in the workspace, newest first"),
    retrieve=extend_schema(summary="One of your notifications"),
)
@extend_schema(tags=["notifications"])
class NotificationsApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[Notification]
):
    serializer_class = NotificationSerializer
    pagination_class = PagePagination
    lookup_url_kwarg = "notification_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = (OwnRows,)
    queryset = Notification.objects.none()  # the model, for the schema; rows: workspace_queryset
    filter_backends = (ListFilterBackend,)
    filterset_class = NotificationFilterSet

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[Notification]:
        user = self.request.user
        if not isinstance(user, User) or self.access.via == "api_key":
            if self.action == "read":  # found, so that marking it is refused, not a 404
                return Notification.objects.filter(workspace=workspace)
            return Notification.objects.none()
        return selectors.notifications_of(workspace, user)

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one read")
    @action(detail=True, methods=["post"])
    def read(self, request: Request, notification_id: int) -> Response:
        notification = self.get_object()
        services.notification_mark_read(notification=notification)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses=MarkedSerializer, summary="Mark all read")
    @action(detail=False, methods=["post"], url_path="read-all", url_name="read-all")
    def read_all(self, request: Request) -> Response:
        user = request.user
        marked = 0
        if isinstance(user, User) and self.access.via != "api_key":
            marked = services.notifications_mark_all_read(workspace=self.workspace, user=user)
        return Response(MarkedSerializer({"marked": marked}).data)
