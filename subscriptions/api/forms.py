"""/api/signup-forms/: a workspace's sign-up forms (list, create, read, change, delete)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.viewsets import WorkspaceViewSet
from accounts.models import Workspace
from audience.selectors import lists_of
from core.api.fields import RelatedIds
from core.api.params import id_field
from sending.models import SendingAccount
from subscriptions import selectors, services
from subscriptions.models import DEFAULT_CONFIRM_SUBJECT, DEFAULT_CONFIRM_TEXT, SignupForm


class SignupFormOut(serializers.ModelSerializer[SignupForm]):
    list_ids = RelatedIds("lists")
    fields_asked = serializers.ListField(source="fields", child=serializers.CharField())
    sending_account_id = serializers.IntegerField(allow_null=True)
    waiting = serializers.IntegerField(help_text="Sign-ups waiting for their confirmation")

    class Meta:
        model = SignupForm
        fields = (
            "id",
            "name",
            "public_key",
            "title",
            "intro",
            "list_ids",
            "fields_asked",
            "require_challenge",
            "sending_account_id",
            "confirm_subject",
            "confirm_text",
            "thanks_text",
            "waiting",
            "created_at",
        )
        read_only_fields = fields


class SignupFormWrite(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    intro = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    list_ids = serializers.ListField(child=id_field(), max_length=100)
    fields_asked = serializers.ListField(
        child=serializers.CharField(max_length=63), required=False, default=list, max_length=50
    )
    require_challenge = serializers.BooleanField(required=False, default=False)
    sending_account_id = id_field(required=False, allow_null=True, default=None)
    confirm_subject = serializers.CharField(
        max_length=200, required=False, default=DEFAULT_CONFIRM_SUBJECT
    )
    confirm_text = serializers.CharField(
        max_length=10000, required=False, default=DEFAULT_CONFIRM_TEXT
    )
    thanks_text = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


def _settings(workspace: Workspace, data: dict[str, Any]) -> services.FormSettings:
    lists = list(lists_of(workspace).filter(pk__in=data["list_ids"]))
    if len(lists) != len(set(data["list_ids"])):
        raise ApiValidationError({"list_ids": ["Give ids of this workspace's lists."]})
    account = None
    if data["sending_account_id"] is not None:
        account = SendingAccount.objects.filter(
            workspace=workspace, pk=data["sending_account_id"]
        ).first()
        if account is None:
            raise ApiValidationError({"sending_account_id": ["No such sending account."]})
    return services.FormSettings(
        name=data["name"],
        lists=lists,
        fields=data["fields_asked"],
        title=data["title"],
        intro=data["intro"],
        require_challenge=data["require_challenge"],
        sending_account=account,
        confirm_subject=data["confirm_subject"],
        confirm_text=data["confirm_text"],
        thanks_text=data["thanks_text"],
    )


def _raise(exc: ValidationError) -> None:
    renamed = {
        "fields": "fields_asked",
        "lists": "list_ids",
        "sending_account": "sending_account_id",
    }
    raise ApiValidationError({renamed.get(k, k): v for k, v in exc.message_dict.items()})


@extend_schema(tags=["signup-forms"])
@extend_schema_view(
    list=extend_schema(summary="List sign-up forms"),
    retrieve=extend_schema(summary="One sign-up form"),
    destroy=extend_schema(
        summary="Delete a sign-up form (pending sign-ups are dropped; members stay)"
    ),
)
class SignupFormsApi(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet[SignupForm],
):
    serializer_class = SignupFormOut
    lookup_url_kwarg = "form_id"
    lookup_value_regex = r"\d+"

    def workspace_queryset(self, workspace: Workspace) -> QuerySet[SignupForm]:
        return selectors.forms_of(workspace)

    def _out(self, form: SignupForm) -> dict[str, Any]:
        return dict(SignupFormOut(self.get_queryset().get(pk=form.pk)).data)

    @extend_schema(
        summary="Create a sign-up form", request=SignupFormWrite, responses={201: SignupFormOut}
    )
    def create(self, request: Request) -> Response:
        given = SignupFormWrite(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            made = services.form_create(
                workspace=self.workspace, given=_settings(self.workspace, given.validated_data)
            )
        except ValidationError as exc:
            _raise(exc)
        return Response(self._out(made), status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a sign-up form", request=SignupFormWrite)
    def update(self, request: Request, form_id: str) -> Response:
        form = self.get_object()
        given = SignupFormWrite(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.form_update(form=form, given=_settings(self.workspace, given.validated_data))
        except ValidationError as exc:
            _raise(exc)
        return Response(self._out(form))

    def perform_destroy(self, instance: SignupForm) -> None:
        services.form_delete(form=instance)
