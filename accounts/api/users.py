"""Users for platform administrators: the Emailer System's /api/members/, /api/staff/ and
/api/non-staff/. Platform managers read; superusers create, change and delete.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from accounts import services
from accounts.api.access import PlatformManager
from accounts.models import User, normalize_email
from accounts.services import workspace_create


class MemberSerializer(serializers.ModelSerializer[User]):
    password = serializers.CharField(write_only=True, required=False, min_length=1)
    is_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "is_staff",
            "is_active",
            "is_verified",
            "date_joined",
            "last_login",
            "password",
        )
        read_only_fields = ("id", "date_joined", "last_login")

    def validate_email(self, value: str) -> str:
        email = normalize_email(value)
        clash = User.objects.filter(email__iexact=email)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(_("A user with this e-mail address exists."))
        return email

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        password = attrs.get("password")
        if self.instance is None and not password:
            raise serializers.ValidationError({"password": [_("A new user needs a password.")]})
        if password:
            candidate = self.instance or User(email=attrs.get("email", ""))
            try:
                validate_password(password, candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs

    def create(self, validated_data: dict[str, Any]) -> User:
        password = validated_data.pop("password")
        user = User.objects.create_user(
            password=password, email_verified_at=timezone.now(), **validated_data
        )
        workspace_create(name=f"{user.email.split('@')[0]}'s workspace", owner=user)
        return user

    @transaction.atomic
    def update(self, instance: User, validated_data: dict[str, Any]) -> User:
        """A block (is_active false) and a new password go through the services, so that
        they are recorded and the user's API tokens are revoked as anywhere else."""
        password = validated_data.pop("password", None)
        active = validated_data.pop("is_active", instance.is_active)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if password:
            instance.set_password(password)
        instance.save()
        if password:
            services.user_revoke_tokens(user=instance)
        if active != instance.is_active:
            by = self.context["request"].user
            try:
                if active:
                    services.user_unblock(user=instance, by=by)
                else:
                    services.user_block(user=instance, by=by)
            except services.AccountError as exc:
                raise serializers.ValidationError({"is_active": [str(exc)]}) from exc
        return instance


class _UsersApi(viewsets.ModelViewSet[User]):
    serializer_class = MemberSerializer
    permission_classes = (PlatformManager,)
    lookup_url_kwarg = "user_id"

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.order_by("id")


@extend_schema_view(
    list=extend_schema(summary="List all members (users)"),
    create=extend_schema(summary="Create a member"),
)
@extend_schema(tags=["members"])
class MembersApi(_UsersApi):
    pass


@extend_schema(tags=["members"])
class StaffApi(_UsersApi):
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        return super().get_queryset().filter(is_staff=True)


@extend_schema(tags=["members"])
class NonStaffApi(_UsersApi):
    def get_queryset(self) -> QuerySet[User]:
        return super().get_queryset().filter(is_staff=False)

    def perform_create(self, serializer: serializers.BaseSerializer[User]) -> None:
        serializer.save(is_staff=False)
