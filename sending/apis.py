"""API views of sending. Session authentication for now; the API issue adds JWT and keys."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from sending import selectors, services


class AccountTestConnectionApi(APIView):
    """POST /api/email-accounts/{id}/test-connection/: connect, authenticate and quit.

    Answers {"success", "message", "email"}, plus "account_email" as the seed's clients read
    it. With `send_to`, also sends a test message there. Editors and owners may test;
    another workspace's account is 404.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="EmailAccountTestConnectionInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        send_to = serializers.EmailField(required=False, allow_blank=True)

    @extend_schema_serializer(component_name="EmailAccountTestConnectionResult")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        success = serializers.BooleanField()
        message = serializers.CharField()
        email = serializers.EmailField()
        account_email = serializers.EmailField(help_text="The same address, as the seed names it.")

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Test a sending account's connection",
        tags=["email-accounts"],
    )
    def post(self, request: Request, account_id: int) -> Response:
        access = getattr(request, "access", None)
        if access is None:
            raise NotFound("No workspace.")
        account = selectors.account_get(access.workspace, account_id)
        if account is None:
            raise NotFound("No such sending account.")
        if not access.allows(Role.EDITOR):
            raise PermissionDenied("Testing an account needs the editor role.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.account_test(
            account=account, send_to=data.validated_data.get("send_to") or None
        )
        body: dict[str, Any] = {
            "success": outcome.success,
            "message": outcome.message,
            "email": account.from_email,
            "account_email": account.from_email,
        }
        return Response(self.OutputSerializer(body).data)
