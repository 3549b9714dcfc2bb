"""`/api/bounce-mailboxes/`: the workspace's bounce mailboxes, as the Feedback pages manage
them. Owners write and test, viewers read; secrets (the password, the OAuth2 client secret
and refresh token) are write-only (`has_password` and the like say one is saved; leaving it
out of an update keeps it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Role, Workspace
from core.api.pagination import KeysetPagination
from sending.api.views import form_errors
from sending.models import OAuthProvider
from tracking import mailboxes
from tracking.forms import BounceMailboxForm
from tracking.models import BounceMailbox, MailboxAuth, MailboxMessage, MailboxOutcome


class ReceivedPages(KeysetPagination):
    key = "received_at"  # the index (mailbox, received_at, id)


class BounceMailboxOut(serializers.ModelSerializer[BounceMailbox]):
    has_password = serializers.SerializerMethodField()
    has_oauth_client_secret = serializers.SerializerMethodField()
    has_oauth_refresh_token = serializers.SerializerMethodField()

    class Meta:
        model = BounceMailbox
        fields = (
            "id",
            *mailboxes.FIELDS,
            "has_password",
            "has_oauth_client_secret",
            "has_oauth_refresh_token",
            "last_polled_at",
            "last_error",
            "last_error_at",
            "created_at",
        )
        read_only_fields = fields

    def get_has_password(self, mailbox: BounceMailbox) -> bool:
        return bool(mailbox.password)

    def get_has_oauth_client_secret(self, mailbox: BounceMailbox) -> bool:
        return bool(mailbox.oauth_client_secret)

    def get_has_oauth_refresh_token(self, mailbox: BounceMailbox) -> bool:
        return bool(mailbox.oauth_refresh_token)


class BounceMailboxIn(serializers.Serializer[Any]):
    name = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False)
    protocol = serializers.CharField(required=False)
    host = serializers.CharField(required=False)
    port = serializers.IntegerField(required=False)
    security = serializers.CharField(required=False)
    username = serializers.CharField(required=False)
    auth = serializers.ChoiceField(MailboxAuth.choices, required=False)
    password = serializers.CharField(required=False, write_only=True, trim_whitespace=False)
    oauth_provider = serializers.ChoiceField(
        OAuthProvider.choices,
        required=False,
        allow_blank=True,
        help_text="Empty: another provider, whose oauth_token_endpoint is given.",
    )
    oauth_client_id = serializers.CharField(required=False, allow_blank=True)
    oauth_client_secret = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    oauth_refresh_token = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text="Or connect through the provider's consent page (Gmail, Outlook).",
    )
    oauth_token_endpoint = serializers.CharField(
        required=False, allow_blank=True, help_text="Empty: the provider's own."
    )
    folder = serializers.CharField(required=False)
    disposal = serializers.CharField(required=False)
    processed_folder = serializers.CharField(required=False)


class TestOut(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()
    kind = serializers.CharField(help_text="auth, connection, settings or server; empty on success")


def _data(mailbox: BounceMailbox | None, given: dict[str, Any]) -> dict[str, Any]:
    """The UI's form over the mailbox's current fields (a new one's defaults) and the given."""
    base = forms.model_to_dict(mailbox or BounceMailbox(), fields=mailboxes.FIELDS)
    data = {k: v for k, v in base.items() if v is not None} | given
    form = BounceMailboxForm(data=data, instance=mailbox)
    if not form.is_valid():
        raise form_errors(form)
    return form.mailbox_data()


class MailboxMessageOut(serializers.ModelSerializer[MailboxMessage]):
    """One message taken from the mailbox and what became of it."""

    class Meta:
        model = MailboxMessage
        fields = (
            "id",
            "received_at",
            "sender",
            "subject",
            "kind",
            "outcome",
            "events",
            "note",
            "excerpt",
            "size",
        )
        read_only_fields = fields


class PurgeOut(serializers.Serializer[Any]):
    deleted = serializers.IntegerField(help_text="How many message rows were deleted.")


@extend_schema_view(
    list=extend_schema(summary="List the bounce mailboxes"),
    retrieve=extend_schema(summary="A bounce mailbox"),
    create=extend_schema(
        request=BounceMailboxIn, responses={201: BounceMailboxOut}, summary="Add (owners)"
    ),
    update=extend_schema(request=BounceMailboxIn, summary="Change (owners)"),
    partial_update=extend_schema(request=BounceMailboxIn, summary="Change some fields (owners)"),
    destroy=extend_schema(summary="Delete (owners)"),
)
@extend_schema(tags=["bounce-mailboxes"])
class BounceMailboxesApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[BounceMailbox]
):
    queryset = BounceMailbox.objects.none()  # only for the schema; see workspace_queryset
    serializer_class = BounceMailboxOut
    lookup_url_kwarg = "mailbox_id"
    lookup_value_regex = "[0-9]+"
    required_role = Role.OWNER

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[BounceMailbox]:
        return mailboxes.mailboxes_of(workspace)

    def _given(self) -> dict[str, Any]:
        payload = BounceMailboxIn(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return dict(payload.validated_data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        mailbox = mailboxes.mailbox_create(
            workspace=self.workspace, data=_data(None, self._given())
        )
        return Response(self.get_serializer(mailbox).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        mailbox = self.get_object()
        mailboxes.mailbox_update(mailbox=mailbox, data=_data(mailbox, self._given()))
        return Response(self.get_serializer(mailbox).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        mailboxes.mailbox_delete(mailbox=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses=MailboxMessageOut(many=True),
        parameters=[
            OpenApiParameter("outcome", str, enum=MailboxOutcome.values, required=False),
        ],
        summary="The messages read from the mailbox and how each was classified",
    )
    @action(detail=True, methods=["get"], url_path="messages", pagination_class=ReceivedPages)
    def messages(self, request: Request, mailbox_id: int) -> Response:
        rows = mailboxes.mailbox_messages(
            self.get_object(), outcome=request.query_params.get("outcome", "")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(MailboxMessageOut(page, many=True).data)

    @extend_schema(
        request=None,
        responses=PurgeOut,
        summary="Delete the record of the messages read (owners): the events they recorded "
        "and the suppressions stay; cannot be undone",
    )
    @action(detail=True, methods=["post"], url_path="messages/purge")
    def purge_messages(self, request: Request, mailbox_id: int) -> Response:
        deleted = mailboxes.mailbox_messages_purge(mailbox=self.get_object())
        return Response({"deleted": deleted})

    @extend_schema(request=None, responses=TestOut, summary="Sign in and check the folder")
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request: Request, mailbox_id: int) -> Response:
        outcome = mailboxes.mailbox_test(mailbox=self.get_object())
        return Response(
            {"success": outcome.success, "message": outcome.message, "kind": outcome.kind}
        )
