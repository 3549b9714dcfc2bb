"""The settings of the workspace a call acts in: read by any member, changed by owners.

The same settings as the workspace's settings page (name, time zone, hourly limit, the
tracking of campaigns, readers' addresses, the sign-up colour, two-factor required, the
public archive), through the same service, so a script can set up tracking the way the page
does.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.access import WorkspaceRole, api_access
from accounts.models import ReaderIps, Role, User, Workspace

FIELDS = (
    "name",
    "time_zone",
    "hourly_limit",
    "track_opens",
    "track_clicks",
    "reader_ips",
    "signup_color",
    "require_two_factor",
    "archive_enabled",
)


class WorkspaceSettingsSerializer(serializers.Serializer[Workspace]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    time_zone = serializers.ChoiceField(
        choices=sorted(available_timezones()),
        help_text="Daily sending limits reset at midnight in this time zone.",
    )
    hourly_limit = serializers.IntegerField(
        min_value=1,
        allow_null=True,
        help_text="At most this many messages in any rolling hour, all accounts together; "
        "null for no workspace-wide limit.",
    )
    track_opens = serializers.BooleanField(
        help_text="A 1x1 image in campaign messages (campaigns may say otherwise)."
    )
    track_clicks = serializers.BooleanField(
        help_text="Campaign links go through Postroom (campaigns may say otherwise)."
    )
    reader_ips = serializers.ChoiceField(
        choices=ReaderIps.choices,
        help_text="What is kept of the address an open or a click came from.",
    )
    signup_color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$", help_text="Buttons and headings of the public sign-up forms."
    )
    require_two_factor = serializers.BooleanField(
        help_text="Members without two-factor sign-in must set it up to use the web interface; "
        "only an owner who has it may turn this on."
    )

    archive_enabled = serializers.BooleanField(
        help_text="The public archive of campaigns marked for it (off by default)."
    )
    archive_key = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The archive's public address is /archive/<archive_key>/ (its feed: "
        "feed/ below it); null until the archive is first turned on.",
    )

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise ValidationError(_("A workspace needs a name."))
        return value


class WorkspaceSettingsApi(APIView):
    permission_classes = (WorkspaceRole,)
    required_role = Role.OWNER

    @extend_schema(
        tags=["workspaces"],
        responses=WorkspaceSettingsSerializer,
        summary="The workspace's settings",
    )
    def get(self, request: Request) -> Response:
        workspace = api_access(request).workspace
        return Response(WorkspaceSettingsSerializer(workspace).data)

    @extend_schema(
        tags=["workspaces"],
        request=WorkspaceSettingsSerializer(partial=True),
        responses=WorkspaceSettingsSerializer,
        summary="Change the workspace's settings (owners); fields left out stay as they are",
    )
    def patch(self, request: Request) -> Response:
        workspace = api_access(request).workspace
        incoming = WorkspaceSettingsSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        values: dict[str, Any] = {field: getattr(workspace, field) for field in FIELDS}
        values |= incoming.validated_data
        by = request.user if isinstance(request.user, User) else None
        try:
            workspace = services.workspace_update(workspace=workspace, by=by, **values)
        except services.AccountError as exc:
            raise ValidationError({"require_two_factor": [str(exc)]}) from exc
        return Response(WorkspaceSettingsSerializer(workspace).data)


class WorkspaceArchiveKeyApi(APIView):
    permission_classes = (WorkspaceRole,)
    required_role = Role.OWNER

    @extend_schema(
        tags=["workspaces"],
        request=None,
        responses=WorkspaceSettingsSerializer,
        summary="A new public address for the archive (owners): the old one answers 404 at once",
    )
    def post(self, request: Request) -> Response:
        workspace = services.workspace_archive_key_rotate(workspace=api_access(request).workspace)
        return Response(WorkspaceSettingsSerializer(workspace).data)
