"""Read-only admin pages for sign-up forms and the sign-ups waiting for confirmation."""

from django.contrib import admin

from core.readonly_admin import LargeTableAdmin, ReadOnlyAdmin
from subscriptions.models import PendingSignup, SignupForm


@admin.register(SignupForm)
class SignupFormAdmin(ReadOnlyAdmin):
    list_display = ("name", "workspace", "require_challenge", "created_at")


@admin.register(PendingSignup)
class PendingSignupAdmin(LargeTableAdmin):
    list_display = ("email", "form", "created_at", "sent_at", "confirmed_at", "expires_at")
    exclude = ("nonce",)  # part of the confirmation link
