"""The sending API: accounts (with their test and status), DKIM keys, captured messages and
test sends of a template, all inside the caller's workspace.

The rules are the UI's: an account is checked by the UI's AccountForm (per kind, SSRF), owners
set accounts and keys up, editors test and use them, viewers read. Secrets are write-only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Role, Workspace
from content import selectors as content_selectors
from content.syntax import ContentError
from core.api.errors import Conflict
from core.api.filters import (
    ListFilterBackend,
    QueryFilter,
    WorkspaceFilterSet,
    integer_schema,
    string_schema,
    text,
)
from core.api.pagination import LargeCursorPagination
from sending import quota, selectors, services, template_sends
from sending.forms import AccountForm, TemplateTestSendForm
from sending.models import AccountStatus, CapturedMessage, DkimKey, SendingAccount
from sending.serializers import (
    CapturedMessageDetailOut,
    CapturedMessageOut,
    DkimKeyIn,
    DkimKeyOut,
    EmailAccountDetailOut,
    EmailAccountIn,
    EmailAccountOut,
    TemplateTestSendIn,
    TemplateTestSendOut,
    TestConnectionIn,
    TestConnectionOut,
)


def form_errors(form: forms.BaseForm, rename: Mapping[str, str] | None = None) -> ValidationError:
    """A UI form's errors as the API's 400, field by field, with Django's error codes."""
    detail: dict[str, list[ErrorDetail]] = {}
    for field, errors in form.errors.as_data().items():
        key = "non_field_errors" if field == NON_FIELD_ERRORS else (rename or {}).get(field, field)
        detail[key] = [
            ErrorDetail(message, code=error.code or "invalid")
            for error in errors
            for message in error.messages
        ]
    return ValidationError(detail)


def _account_data(account: SendingAccount | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """Run the UI's form on the account's current fields (a new one's defaults) overlaid with
    the fields given, and return what the services take. Secrets not given stay as saved."""
    base = forms.model_to_dict(account or SendingAccount(), fields=AccountForm.Meta.fields)
    data = {k: v for k, v in base.items() if v is not None} | dict(given)
    form = AccountForm(data=data, instance=account)
    if not form.is_valid():
        raise form_errors(form)
    return form.account_data()


def _today(workspace: Workspace) -> Any:
    return quota.local_day(workspace, timezone.now())


@extend_schema_view(
    list=extend_schema(summary="List the sending accounts, with today's usage"),
    retrieve=extend_schema(
        responses=EmailAccountDetailOut,
        summary="A sending account, with its events webhook URL for owners",
    ),
    create=extend_schema(
        request=EmailAccountIn,
        responses={201: EmailAccountOut},
        summary="Add a sending account (owners); pending until a test succeeds",
    ),
    update=extend_schema(
        request=EmailAccountIn,
        responses=EmailAccountOut,
        summary="Change a sending account (owners); only the fields given change",
    ),
    partial_update=extend_schema(
        request=EmailAccountIn,
        responses=EmailAccountOut,
        summary="Change some fields of a sending account (owners)",
    ),
    destroy=extend_schema(summary="Delete a sending account (owners)"),
)
@extend_schema(tags=["email-accounts"])
class EmailAccountsApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[SendingAccount]
):
    """`/api/email-accounts/`: every kind the UI offers, checked by the UI's form.

    A change of the connection (kind, host, user, a secret) sends an active account back to
    pending, as in the UI. Secrets never appear in a response; `has_<secret>` says one is saved.
    """

    queryset = SendingAccount.objects.none()  # only for the schema; see workspace_queryset
    serializer_class = EmailAccountOut
    lookup_url_kwarg = "account_id"
    lookup_value_regex = "[0-9]+"
    required_role = Role.OWNER  # as in the UI: owners set accounts up, editors test them

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[SendingAccount]:
        return selectors.accounts_for_api(workspace)

    def get_serializer_class(self) -> type[EmailAccountOut]:
        return EmailAccountDetailOut if self.action == "retrieve" else EmailAccountOut

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["day"] = _today(self.workspace)
        return context

    def _given(self) -> dict[str, Any]:
        payload = EmailAccountIn(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return dict(payload.validated_data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _account_data(None, self._given())
        account = services.account_create(workspace=self.workspace, data=data)
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        data = _account_data(account, self._given())
        services.account_update(account=account, data=data)
        # Read again: the flags saying which secrets are saved may have changed.
        return Response(self.get_serializer(self.get_object()).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.account_delete(account=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _set_status(self, wanted: str) -> Response:
        account = self.get_object()
        services.account_set_status(account=account, status=wanted)
        return Response(self.get_serializer(account).data)

    @extend_schema(
        request=None,
        responses=EmailAccountOut,
        summary="Activate a sending account (owners), as the UI's status switch does",
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, account_id: int) -> Response:
        return self._set_status(AccountStatus.ACTIVE)

    @extend_schema(
        request=None,
        responses=EmailAccountOut,
        summary="Pause a sending account (owners): it is inactive until activated",
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, account_id: int) -> Response:
        return self._set_status(AccountStatus.INACTIVE)

    @extend_schema(
        request=None,
        responses=EmailAccountOut,
        summary="Let a held warm-up go on (owners): its limit rises again from tomorrow",
    )
    @action(detail=True, methods=["post"], url_path="warmup-resume")
    def warmup_resume(self, request: Request, account_id: int) -> Response:
        try:
            account = services.account_warmup_resume(account=self.get_object(), now=timezone.now())
        except services.SendingError as exc:
            raise ValidationError({"warmup": [str(exc)]}) from exc
        return Response(self.get_serializer(account).data)


class AccountTestConnectionApi(APIView):
    """POST /api/email-accounts/{account_id}/test-connection/: connect, authenticate and quit.

    Answers the seed's {"success", "message", "account_email"}, plus "email" and the account's
    "status" after the test (a refused login puts it in error, a success makes it active, as
    in the UI). With `send_to`, also sends a test message there. Editors and owners may test.
    """

    permission_classes = (WorkspaceRole,)
    required_role = Role.EDITOR

    @extend_schema(
        request=TestConnectionIn,
        responses=TestConnectionOut,
        summary="Test a sending account's connection",
        tags=["email-accounts"],
    )
    def post(self, request: Request, account_id: int) -> Response:
        account = selectors.account_get(api_access(request).workspace, account_id)
        if account is None:
            raise NotFound(_("No such sending account."))
        data = TestConnectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.account_test(
            account=account, send_to=data.validated_data.get("send_to") or None
        )
        body = {
            "success": outcome.success,
            "message": outcome.message,
            "email": account.from_email,
            "account_email": account.from_email,
            "status": account.status,
        }
        return Response(TestConnectionOut(body).data)


@extend_schema_view(
    list=extend_schema(summary="List the DKIM keys"),
    retrieve=extend_schema(summary="A DKIM key and the DNS record to publish"),
    create=extend_schema(
        request=DkimKeyIn,
        responses={201: DkimKeyOut},
        summary="Generate a DKIM key for a domain (owners)",
    ),
    destroy=extend_schema(summary="Delete a DKIM key (owners): its domain's mail goes unsigned"),
)
@extend_schema(tags=["dkim-keys"])
class DkimKeysApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[DkimKey]):
    """`/api/dkim-keys/`: the private key is never returned; the TXT record to publish is."""

    queryset = DkimKey.objects.none()  # only for the schema; see workspace_queryset
    serializer_class = DkimKeyOut
    lookup_url_kwarg = "dkim_key_id"
    lookup_value_regex = "[0-9]+"
    required_role = Role.OWNER

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[DkimKey]:
        return selectors.dkim_keys(workspace).defer("private_key")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = DkimKeyIn(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            key = services.dkim_key_create(workspace=self.workspace, **given.validated_data)
        except services.SendingError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response(DkimKeyOut(key).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.dkim_key_delete(key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RawMessageRenderer(BaseRenderer):
    """Lets a client ask for `message/rfc822`; errors still come as JSON text."""

    media_type = "message/rfc822"
    format = "eml"
    charset = None

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else json.dumps(data).encode()


def _account_id(raw: str, zone: tzinfo) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError("Give an account id.") from exc


def _sent_to(rows: QuerySet[Any], name: str, address: str) -> QuerySet[Any]:
    # The quotes match one whole element of the JSON list, on SQLite and PostgreSQL.
    return rows.filter(recipients__icontains=json.dumps(address.strip()))


def _message_id(rows: QuerySet[Any], name: str, message_id: str) -> QuerySet[Any]:
    return rows.filter(message_id=message_id.strip())


class CapturedMessageFilterSet(WorkspaceFilterSet):
    # Read as they always were: unstripped text, an account id as int() reads it.
    account_id = QueryFilter(
        "account_id",
        parse=_account_id,
        strip=False,
        schema=integer_schema("Only those of this account."),
    )
    recipient = QueryFilter(
        method=_sent_to,
        parse=text,
        strip=False,
        schema=string_schema("Only those sent to this address."),
    )
    message_id = QueryFilter(
        method=_message_id,
        parse=text,
        strip=False,
        schema=string_schema("Only the one with this Message-ID."),
    )


@extend_schema_view(
    list=extend_schema(summary="List the messages the capture transport kept (newest first)"),
    retrieve=extend_schema(
        summary="A captured message, parsed", responses=CapturedMessageDetailOut
    ),
)
@extend_schema(tags=["captured-messages"])
class CapturedMessagesApi(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet[CapturedMessage]
):
    """`/api/captured-messages/`: what a capture account "sent", to read or download."""

    queryset = CapturedMessage.objects.none()  # only for the schema; see workspace_queryset
    serializer_class = CapturedMessageOut
    pagination_class = LargeCursorPagination
    lookup_url_kwarg = "captured_id"
    lookup_value_regex = "[0-9]+"
    filter_backends = (ListFilterBackend,)
    filterset_class = CapturedMessageFilterSet

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[CapturedMessage]:
        found = selectors.captured_messages(workspace)
        if self.action != "list":
            return found
        return found.defer("raw")  # filtered by CapturedMessageFilterSet

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        captured = self.get_object()
        headers, html, text = selectors.captured_parts(captured)
        body = {
            **CapturedMessageOut(captured).data,
            "headers": [{"name": name, "value": value} for name, value in headers],
            "text": text,
            "html": html,
            "size": len(bytes(captured.raw)),
        }
        return Response(CapturedMessageDetailOut(body).data)

    @extend_schema(
        summary="The captured message's bytes, as an .eml download",
        responses={(200, "message/rfc822"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, RawMessageRenderer])
    def raw(self, request: Request, captured_id: int) -> HttpResponse:
        captured = self.get_object()
        response = HttpResponse(bytes(captured.raw), content_type="message/rfc822")
        disposition = content_disposition_header(True, f"captured-{captured.pk}.eml")
        response["Content-Disposition"] = disposition or "attachment"
        return response


class TemplateTestSendApi(APIView):
    """POST /api/templates/{template_id}/test-send/: the template, rendered for each address
    (as that recipient, or with sample values), sent now through one active account.

    Tests count against the account's daily limit and the workspace's hourly limit, as in the
    UI (409 when they leave no room for all of them; nothing is sent then), without waiting for
    the minimum time between messages. Their unsubscribe and view links work but unsubscribe
    nobody. A refused login puts the account in error. Editors and owners may send tests.
    """

    permission_classes = (WorkspaceRole,)
    required_role = Role.EDITOR

    @extend_schema(
        request=TemplateTestSendIn,
        responses={
            200: TemplateTestSendOut,
            409: OpenApiResponse(
                description="The account's daily limit or the workspace's hourly limit leaves "
                "no room for every test; nothing was sent."
            ),
        },
        summary="Send a test of a template to up to ten addresses",
        tags=["templates"],
    )
    def post(self, request: Request, template_id: int) -> Response:
        workspace = api_access(request).workspace
        template = content_selectors.template_get(workspace, template_id)
        if template is None:
            raise NotFound(_("No such template."))
        given = TemplateTestSendIn(data=request.data)
        given.is_valid(raise_exception=True)
        form = TemplateTestSendForm(
            data={
                "account": given.validated_data["account_id"],
                "addresses": "\n".join(given.validated_data["addresses"]),
            },
            workspace=workspace,
        )
        if not form.is_valid():
            raise form_errors(form, rename={"account": "account_id"})
        try:
            results = template_sends.template_test_send(
                workspace=workspace,
                template=template,
                account=form.cleaned_data["account"],
                addresses=form.cleaned_data["addresses"],
            )
        except ContentError as exc:
            raise ValidationError(
                {
                    "non_field_errors": [
                        _("The template cannot be rendered: %(reason)s") % {"reason": exc}
                    ]
                }
            ) from exc
        except services.SendingError as exc:
            raise Conflict(str(exc)) from exc
        rows = [
            {"address": r.address, "ok": r.ok, "message": r.words, "as_recipient": r.as_recipient}
            for r in results
        ]
        return Response(TemplateTestSendOut({"results": rows}).data)
