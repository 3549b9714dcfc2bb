"""The admin for users, workspaces and invitations.

The admin never lets anyone grant more than they have: whatever model permissions a staff user
holds, only superusers change users, groups, memberships and invitations here (any of them can
make someone a superuser, take over an account, or give a role in a workspace). Platform
managers read; they block users and stop sending on the platform pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, User, UserSession, Workspace
from core.readonly_admin import ReadOnlyAdmin


class SuperuserWrites:
    """Adding, changing and deleting need a superuser; model permissions only allow viewing."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class PasswordChangeForm(AdminPasswordChangeForm):  # type: ignore[type-arg]
    """A password set in the admin also revokes the user's API tokens."""

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        if commit:
            services.user_revoke_tokens(user=user)
        return user


@admin.register(User)
class UserAdmin(SuperuserWrites, DjangoUserAdmin[User]):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = (
        "last_login",
        "date_joined",
        "email_verified_at",
        "blocked_at",
        "blocked_by",
    )
    change_password_form = PasswordChangeForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "language")}),
        (
            "Status",
            {
                "fields": (
                    "is_active",
                    "email_verified_at",
                    "blocked_at",
                    "blocked_by",
                    "blocked_reason",
                )
            },
        ),
        (
            "Permissions",
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        blocked = change and "is_active" in form.changed_data and not obj.is_active
        if change and "is_active" in form.changed_data:
            # A block here is a superuser's, as on the platform pages: recorded, tokens revoked.
            obj.blocked_at = timezone.now() if blocked else None
            obj.blocked_by = request.user if blocked else None  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        if blocked:
            services.user_revoke_tokens(user=obj)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SuperuserWrites, DjangoGroupAdmin):
    pass


class MembershipInline(SuperuserWrites, admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "time_zone", "created_at", "sending_stopped_at")
    search_fields = ("name",)
    inlines = (MembershipInline,)
    raw_id_fields = ("sending_stopped_by",)


@admin.register(Invitation)
class InvitationAdmin(SuperuserWrites, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("email", "workspace", "role", "created_at", "expires_at", "accepted_at")
    search_fields = ("email", "workspace__name")
    exclude = ("token_hash",)
    raw_id_fields = ("workspace", "invited_by", "accepted_by")


@admin.register(Membership)
class MembershipAdmin(SuperuserWrites, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "workspace", "role")
    list_filter = ("role",)
    search_fields = ("user__email", "workspace__name")
    raw_id_fields = ("user", "workspace")


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    """Who is signed in where; the session key itself is never shown (it is the cookie)."""

    list_display = ("user", "user_agent", "ip_network", "last_seen_at")
