"""Forms of the accounts pages. They validate input; the services do the writing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_failure_limit
from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.emails import in_language_of
from accounts.models import ReaderIps, Role, User, normalize_email
from accounts.user_sessions import sessions_end_others


def _password_help() -> str:
    return " ".join(password_validation.password_validators_help_texts())


# The validators' rules as plain text: help text is shown escaped (templates/django/forms/), so
# Django's HTML list of them would show its tags.
PASSWORD_HELP = lazy(_password_help, str)()


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=PASSWORD_HELP,
    )

    def clean_email(self) -> str:
        # Whether the address has an account is never said here (the owner gets a mail).
        return normalize_email(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("email"):
            candidate = User(
                email=data["email"],
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(data["password"], candidate)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class LoginForm(AuthenticationForm):
    """Sign-in by e-mail, with messages that say why a sign-in was refused."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or the password is wrong."),
        "unverified": _(
            "Your e-mail address is not confirmed yet. Open the link in the e-mail we sent you, "
            "or ask for a new one below."
        ),
        "blocked": _("This account is blocked. Contact the platform's administrators."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("E-mail address")
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email"}
        )
        self.unverified_user: User | None = None

    def clean_username(self) -> str:
        return normalize_email(self.cleaned_data.get("username") or "")

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError as exc:
            if exc.code == "invalid_login":
                self._refine_invalid_login()
            raise

    def _refine_invalid_login(self) -> None:
        """Say the account is blocked (only to the holder of its password), or attempts left."""
        email = self.cleaned_data.get("username", "")
        password = self.cleaned_data.get("password", "")
        blocked = User.objects.filter(email=email, is_active=False).first()
        if blocked is not None and blocked.check_password(password):
            raise ValidationError(self.error_messages["blocked"], code="blocked")
        if self.request is None:
            return
        credentials = {"username": email}
        left = get_failure_limit(self.request, credentials) - AxesProxyHandler.get_failures(
            self.request, credentials
        )
        if 0 < left <= 3:
            minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
            raise ValidationError(
                f"{self.error_messages['invalid_login']} "
                + ngettext(
                    "%(left)s attempt left before sign-in is locked for %(minutes)s minutes.",
                    "%(left)s attempts left before sign-in is locked for %(minutes)s minutes.",
                    left,
                )
                % {"left": left, "minutes": minutes},
                code="invalid_login",
            )

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_verified:
            self.unverified_user = user
            raise ValidationError(self.error_messages["unverified"], code="unverified")


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


def _language_choices() -> list[tuple[str, Any]]:
    return [("", _("The browser's language")), *settings.LANGUAGES]


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=_language_choices, required=False)


class LanguageForm(forms.Form):
    """The switcher: one of the interface's languages (blank: follow the browser)."""

    language = forms.ChoiceField(choices=_language_choices, required=False)
    next = forms.CharField(required=False)


class ResetRequestForm(PasswordResetForm):
    """Django's reset form; it sends nothing for unknown, blocked or unusable accounts."""

    def get_users(self, email: str) -> Any:
        address = normalize_email(email)
        if not services.reset_mail_allowed(address):
            return []  # the page says the same either way: it must not tell who exists
        return super().get_users(address)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Behind a proxy the request's host may be an internal one: SITE_URL names the real one.
        if settings.SITE_URL:
            site = urlsplit(settings.SITE_URL)
            kwargs["domain_override"] = site.netloc
            kwargs["use_https"] = site.scheme == "https"
        super().save(*args, **kwargs)

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        # In the language the account's owner chose, else the request's.
        context = kwargs.get("context", args[2] if len(args) > 2 else {})
        with in_language_of(context.get("user")):
            super().send_mail(*args, **kwargs)


class ResetSetPasswordForm(SetPasswordForm):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        if commit:
            services.user_mark_verified(user=user)
            services.user_revoke_tokens(user=user)
            sessions_end_others(user=user, keep_key=None)
        return user


class ChangePasswordForm(PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(tz, tz) for tz in sorted(available_timezones())]


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120, label=_("Name"))
    time_zone = forms.ChoiceField(
        choices=_time_zone_choices,
        initial="UTC",
        label=_("Time zone"),
        help_text=_("Daily sending limits reset at midnight in this time zone."),
    )
    hourly_limit = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("Messages per hour"),
        help_text=_(
            "At most this many messages in any rolling hour, all sending accounts together. "
            "Leave empty for no workspace-wide limit."
        ),
    )


class WorkspaceSettingsForm(WorkspaceForm):
    """The workspace's settings page: WorkspaceForm and the tracking of campaigns."""

    track_opens = forms.BooleanField(
        required=False,
        label=_("Track opens"),
        help_text=_(
            "A 1x1 image in campaign messages. Off by default: in many countries reading "
            "whether someone opened a message needs their consent."
        ),
    )
    track_clicks = forms.BooleanField(
        required=False,
        label=_("Track clicks"),
        help_text=_("Links of campaign messages go through Postroom, which notes the click."),
    )
    reader_ips = forms.TypedChoiceField(
        choices=ReaderIps.choices,
        initial=ReaderIps.TRUNCATED,
        required=False,
        empty_value=None,  # left out: kept as it is
        label=_("Readers' addresses"),
    )
    signup_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        required=False,
        empty_value=None,  # left out: kept as it is
        label=_("Sign-up page colour"),
        help_text=_("Buttons and headings of the public sign-up forms, like #2563eb."),
    )
    archive_enabled = forms.BooleanField(
        required=False,
        label=_("Public archive"),
        help_text=_(
            "A public page and feed of the sent campaigns marked “show in the public "
            "archive”, shown with sample values, never a recipient's data."
        ),
    )
    require_two_factor = forms.BooleanField(
        required=False,
        label=_("Require two-factor sign-in"),
        help_text=_(
            "Members without two-factor sign-in are asked to set it up before they can use "
            "this workspace. API keys are not concerned."
        ),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class CodeForm(forms.Form):
    """The second step of sign-in, and the confirmation of a new authenticator."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
        help_text=_("The 6-digit code of your authenticator app, or one of your recovery codes."),
    )


class ReauthForm(forms.Form):
    """Proof that the person at the keyboard is the user: a current code or the password."""

    code = forms.CharField(label=_("Code"), max_length=32, required=False)
    password = forms.CharField(
        label=_("or your password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
