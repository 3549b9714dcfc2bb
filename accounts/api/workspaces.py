"""Who am I and where may I act: the caller, their workspaces, and the one a call acts in."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from accounts.models import User, Workspace
from accounts.selectors import memberships_of_user


class WorkspaceOut(serializers.Serializer[object]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    time_zone = serializers.CharField()


class MeOut(serializers.Serializer[object]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    language = serializers.CharField(
        help_text="The interface's language the user chose (en, ru); empty: the browser's."
    )
    workspace = WorkspaceOut(help_text="The workspace this call acted in (X-Workspace header).")
    workspaces = WorkspaceOut(many=True)
    via = serializers.CharField(help_text="member, manager or api_key")


def _workspace_out(workspace: Workspace, role: str) -> dict[str, object]:
    return {
        "id": workspace.pk,
        "name": workspace.name,
        "time_zone": workspace.time_zone,
        "role": role,
    }


class MeApi(APIView):
    permission_classes = (WorkspaceRole,)

    @extend_schema(tags=["workspaces"], responses=MeOut, summary="The caller and workspaces")
    def get(self, request: Request) -> Response:
        access = api_access(request)
        user = request.user
        assert isinstance(user, User)  # noqa: S101 - WorkspaceRole admits only users and keys
        if access.via == "api_key":
            workspaces = [_workspace_out(access.workspace, access.role)]
        else:
            workspaces = [_workspace_out(m.workspace, m.role) for m in memberships_of_user(user)]
        return Response(
            {
                "id": user.pk,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "language": user.language,
                "workspace": _workspace_out(access.workspace, access.role),
                "workspaces": workspaces,
                "via": access.via,
            }
        )
