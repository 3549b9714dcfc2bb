"""Pages for signing up and in, the user's own account, workspaces, members and invitations."""

from __future__ import annotations

from typing import Any, Literal, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import forms, selectors, services, two_factor, user_sessions
from accounts.access import access_of, base_url_of, or_404, user_of, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.emails import MailNotSent
from accounts.middleware import SESSION_KEY, choose_workspace, remember_current
from accounts.models import Role, User, Workspace
from accounts.security_views import start_second_step

# --- Sign-up, verification, sign-in ---------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    # Signing up from an invitation link: the invitation travels with the sign-up, into the
    # verification link, so that confirming the address joins the invited workspace.
    token = request.POST.get("invitation") or request.GET.get("invitation", "")
    invitation = services.invitation_pending(token=token) if token else None
    initial = {"email": invitation.email} if invitation is not None else {}
    form = forms.SignUpForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            user = services.user_sign_up(
                email=email,
                password=form.cleaned_data["password"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except services.AddressTaken:
            # The same page as for a new account, so that sign-up tells no one who has one
            # (as password reset does); the address's owner is told by e-mail.
            _notify_owner(request, email)
        else:
            _send_verification(request, user, invitation_token=token if invitation else "")
        request.session["postroom.signup_email"] = email
        return redirect("accounts:signup_done")
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "invitation": invitation, "invitation_token": token if invitation else ""},
    )


def _notify_owner(request: HttpRequest, email: str) -> None:
    try:
        services.user_notify_sign_up_attempt(email=email, base_url=base_url_of(request))
    except MailNotSent as exc:
        _mail_failed(request, exc)


def _send_verification(request: HttpRequest, user: User, invitation_token: str = "") -> bool:
    try:
        services.user_send_verification(
            user=user, base_url=base_url_of(request), invitation_token=invitation_token
        )
    except MailNotSent as exc:
        _mail_failed(request, exc)
        return False
    return True


def _mail_failed(request: HttpRequest, exc: MailNotSent) -> None:
    messages.error(
        request,
        _(
            "We could not send the confirmation e-mail just now (%(error)s). Your account is "
            "saved: ask for the link again in a few minutes."
        )
        % {"error": exc},
    )


def signup_done(request: HttpRequest) -> HttpResponse:
    email = request.session.get("postroom.signup_email", "")
    return render(request, "accounts/signup_done.html", {"email": email})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.user_verify_email(token=token)
    except services.AccountError as exc:
        return render(
            request,
            "accounts/verify_failed.html",
            {"error": str(exc), "form": forms.ResendVerificationForm()},
            status=400,
        )
    messages.success(
        request,
        _("Thank you: %(email)s is confirmed. You can sign in now.") % {"email": user.email},
    )
    _join_invited_workspace(request, user, request.GET.get("invitation", ""))
    if request.user.is_authenticated:
        return redirect("dashboard")
    return redirect(f"{reverse('accounts:login')}?{urlencode({'email': user.email})}")


def _join_invited_workspace(request: HttpRequest, user: User, token: str) -> None:
    """After signing up from an invitation: join its workspace and make it the current one,
    so that the first sign-in lands there. An invitation no longer valid is only reported."""
    if not token:
        return
    invitation = services.invitation_for_token(token=token, user=user)
    if invitation is None:
        messages.warning(
            request,
            _(
                "The invitation you signed up from is no longer valid for this address: "
                "ask for a new one."
            ),
        )
        return
    try:
        membership = services.invitation_accept(invitation=invitation, user=user)
    except services.AccountError as exc:
        messages.warning(request, str(exc))
        return
    remember_current(user, membership.workspace_id)
    if request.user.is_authenticated and request.user.pk == user.pk:
        choose_workspace(request, membership.workspace_id)
    messages.success(
        request,
        _("You joined “%(workspace)s” as %(role)s.")
        % {
            "workspace": membership.workspace.name,
            "role": membership.get_role_display().lower(),
        },
    )


def resend_verification(request: HttpRequest) -> HttpResponse:
    form = forms.ResendVerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(
            email__iexact=form.cleaned_data["email"], email_verified_at__isnull=True, is_active=True
        ).first()
        if user is not None and not _send_verification(request, user):
            return redirect("accounts:resend_verification")
        # The same answer whether or not the address has an account, so it reveals none.
        messages.info(
            request,
            _("If that address has an unconfirmed account, a new confirmation link is on its way."),
        )
        return redirect("accounts:login")
    return render(request, "accounts/resend_verification.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_initial(self) -> dict[str, Any]:
        return {"username": self.request.GET.get("email", "")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if settings.SSO_ENABLED:  # the button, only when single sign-on is configured
            context["sso_label"] = settings.SSO_BUTTON_LABEL or _("Sign in with single sign-on")
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if two_factor.has_two_factor(user):
            # The password was right; the session is signed in only after the code.
            return start_second_step(self.request, user, self.get_redirect_url())
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    next_page = "accounts:login"


class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.ResetRequestForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.ResetSetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.ChangePasswordForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = user_of(self.request)
        services.user_revoke_tokens(user=user)
        # Django keeps this session (its key is new) and other sessions fail their hash check;
        # delete them outright so that the list shows they are gone.
        user_sessions.sessions_end_others(user=user, keep_key=self.request.session.session_key)
        user_sessions.session_record(request=self.request, user=user)
        messages.success(self.request, _("Your password is changed."))
        return response


# --- The user's own account -----------------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = forms.ProfileForm(
        request.POST or None,
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "language": user.language,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=user, **form.cleaned_data)
        if user.language:  # the message in the language just chosen
            translation.activate(user.language)
        messages.success(request, _("Your profile is saved."))
        return _remember_language(redirect("accounts:profile"), user.language)
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "two_factor_on": two_factor.has_two_factor(user),
            "sessions": user_sessions.user_sessions(user),
            "current_session_key": request.session.session_key,
        },
    )


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The language switcher (sidebar, sign-in pages): the choice goes in Django's language
    cookie, and on the profile of a signed-in user, whose choice then follows them to every
    browser. A blank choice follows the browser's language again."""
    form = forms.LanguageForm(request.POST)
    language = form.cleaned_data["language"] if form.is_valid() else ""
    if request.user.is_authenticated:
        services.user_set_language(user=user_of(request), language=language)
    target = request.POST.get("next") or request.headers.get("Referer") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return _remember_language(HttpResponseRedirect(target), language)


def _remember_language(response: HttpResponse, language: str) -> HttpResponse:
    """Django's language cookie (LocaleMiddleware reads it): set to a chosen language, or
    removed when the choice is the browser's."""
    samesite = cast(Literal["Lax", "Strict", "None"] | None, settings.LANGUAGE_COOKIE_SAMESITE)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=samesite,
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=samesite,
        )
    return response


# --- Workspaces -----------------------------------------------------------------------------


@login_required
def workspaces(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = forms.WorkspaceForm(request.POST or None, initial={"time_zone": "UTC"})
    if request.method == "POST" and form.is_valid():
        workspace = services.workspace_create(owner=user, **form.cleaned_data)
        # Shown in this session; scripts stay where they were until the user switches.
        choose_workspace(request, workspace.pk, remember=False)
        messages.success(
            request,
            _("Workspace “%(name)s” is created and now current.") % {"name": workspace.name},
        )
        return redirect("dashboard")
    return render(
        request,
        "accounts/workspaces.html",
        {
            "memberships": selectors.memberships_of_user(user),
            "invitations": selectors.invitations_for_user(user),
            "form": form,
        },
    )


@login_required
@require_POST
def workspace_switch(request: HttpRequest, workspace_id: int) -> HttpResponse:
    user = user_of(request)
    membership = selectors.membership_get(user, workspace_id)
    if membership is not None:
        messages.success(
            request, _("Switched to “%(name)s”.") % {"name": membership.workspace.name}
        )
    elif selectors.user_is_platform_manager(user):
        workspace = or_404(Workspace.objects.filter(pk=workspace_id).first())
        messages.info(
            request, _("You are viewing “%(name)s” read-only.") % {"name": workspace.name}
        )
    else:
        or_404(None)
    choose_workspace(request, workspace_id, member=membership is not None)
    return redirect("dashboard")


@workspace_view(Role.VIEWER)
def settings_page(request: HttpRequest) -> HttpResponse:
    workspace = access_of(request).workspace
    form = forms.WorkspaceSettingsForm(
        initial={
            "name": workspace.name,
            "time_zone": workspace.time_zone,
            "hourly_limit": workspace.hourly_limit,
            "track_opens": workspace.track_opens,
            "track_clicks": workspace.track_clicks,
            "reader_ips": workspace.reader_ips,
            "signup_color": workspace.signup_color,
            "require_two_factor": workspace.require_two_factor,
            "archive_enabled": workspace.archive_enabled,
        }
    )
    return _render_settings(request, form)


@workspace_view(Role.OWNER)
@require_POST
def workspace_update(request: HttpRequest) -> HttpResponse:
    form = forms.WorkspaceSettingsForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, form, status=400)
    try:
        services.workspace_update(
            workspace=access_of(request).workspace, by=user_of(request), **form.cleaned_data
        )
    except services.AccountError as exc:
        form.add_error("require_two_factor", str(exc))
        return _render_settings(request, form, status=400)
    messages.success(request, _("Workspace settings are saved."))
    return redirect("accounts:settings")


@workspace_view(Role.OWNER)
@require_POST
def archive_key_rotate(request: HttpRequest) -> HttpResponse:
    """A new address for the public archive; the old one stops answering (asked first)."""
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Make a new address for the public archive?"),
            losses=[
                _(
                    "The current address and its feed stop working for everyone who has "
                    "them, at once."
                )
            ],
            action_label=_("Make a new address"),
            cancel_url=reverse("accounts:settings"),
        )
    services.workspace_archive_key_rotate(workspace=access_of(request).workspace)
    messages.success(request, _("The public archive has a new address; the old one is gone."))
    return redirect("accounts:settings")


def _render_settings(
    request: HttpRequest, workspace_form: forms.WorkspaceSettingsForm, status: int = 200
) -> HttpResponse:
    workspace = access_of(request).workspace
    return render(
        request,
        "accounts/settings.html",
        {
            "workspace_form": workspace_form,
            "invite_form": forms.InviteForm(),
            "members": selectors.workspace_members(workspace),
            "invitations": selectors.workspace_pending_invitations(workspace),
            "roles": Role.choices,
        },
        status=status,
    )


@workspace_view(Role.OWNER)
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    access = access_of(request)
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        try:
            issued = services.invitation_create(
                workspace=access.workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=user_of(request),
                base_url=base_url_of(request),
            )
            services.invitation_send(issued=issued)
        except services.AccountError as exc:
            messages.error(request, str(exc))
        except MailNotSent as exc:
            messages.error(
                request,
                _("The invitation could not be sent (%(error)s). Try again later.")
                % {"error": exc},
            )
        else:
            messages.success(
                request,
                _("An invitation is on its way to %(email)s.")
                % {"email": form.cleaned_data["email"]},
            )
    else:
        messages.error(request, _("Enter a valid e-mail address and a role to invite someone."))
    return redirect("accounts:settings")


@workspace_view(Role.OWNER)
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    access = access_of(request)
    membership = or_404(selectors.workspace_member_get(access.workspace, membership_id))
    form = forms.RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(membership=membership, role=form.cleaned_data["role"])
        except services.AccountError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": membership.user.email, "role": membership.get_role_display().lower()},
            )
    return redirect("accounts:settings")


@workspace_view(Role.OWNER)
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    access = access_of(request)
    membership = or_404(selectors.workspace_member_get(access.workspace, membership_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Remove %(email)s from this workspace?") % {"email": membership.user.email},
            losses=[
                _(
                    "They lose access to “%(workspace)s” at once: its recipients, templates, "
                    "campaigns and reports. Their account and what they made here stay."
                )
                % {"workspace": access.workspace.name}
            ],
            action_label=_("Remove the member"),
            cancel_url=reverse("accounts:settings"),
        )
    try:
        services.membership_remove(membership=membership)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(email)s is removed from this workspace.") % {"email": membership.user.email},
        )
    return redirect("accounts:settings")


@workspace_view(Role.VIEWER, own_membership=True)
@require_POST
def workspace_leave(request: HttpRequest) -> HttpResponse:
    access = access_of(request)
    membership = or_404(access.membership)
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Leave “%(workspace)s”?") % {"workspace": access.workspace.name},
            losses=[_("You lose access to it at once; an owner has to invite you again.")],
            action_label=_("Leave the workspace"),
            cancel_url=reverse("accounts:settings"),
        )
    try:
        services.membership_remove(membership=membership)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:settings")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, _("You left “%(name)s”.") % {"name": access.workspace.name})
    return redirect("accounts:workspaces")


@workspace_view(Role.OWNER)
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    access = access_of(request)
    invitation = or_404(selectors.workspace_invitation_get(access.workspace, invitation_id))
    services.invitation_revoke(invitation=invitation)
    messages.success(
        request, _("The invitation to %(email)s is withdrawn.") % {"email": invitation.email}
    )
    return redirect("accounts:settings")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link from an invitation e-mail: confirm, then join.

    Someone signed out is greeted with the invitation and offered to sign in (coming back
    here) or to sign up with the invitation, which then joins at verification.
    """
    if not request.user.is_authenticated:
        pending = services.invitation_pending(token=token)
        if pending is None:
            return render(request, "accounts/invitation_invalid.html", status=404)
        return render(
            request,
            "accounts/invitation_welcome.html",
            {
                "invitation": pending,
                "has_account": User.objects.filter(email__iexact=pending.email).exists(),
                "login_url": f"{reverse('accounts:login')}?"
                + urlencode({"email": pending.email, "next": request.path}),
                "signup_url": f"{reverse('accounts:signup')}?" + urlencode({"invitation": token}),
            },
        )
    user = user_of(request)
    invitation = services.invitation_for_token(token=token, user=user)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if request.method == "POST":
        return _accept(request, invitation)
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})


@login_required
@require_POST
def my_invitation_respond(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Accept or decline, from the workspaces page, an invitation addressed to this user."""
    invitation = or_404(selectors.invitation_for_user_get(user_of(request), invitation_id))
    if request.POST.get("decision") == "decline":
        services.invitation_decline(invitation=invitation)
        messages.info(
            request,
            _("You declined the invitation to “%(name)s”.") % {"name": invitation.workspace.name},
        )
        return redirect("accounts:workspaces")
    return _accept(request, invitation)


def _accept(request: HttpRequest, invitation: Any) -> HttpResponseRedirect:
    try:
        membership = services.invitation_accept(invitation=invitation, user=user_of(request))
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:workspaces")
    choose_workspace(request, membership.workspace_id, remember=False)
    messages.success(
        request,
        _("Welcome to “%(workspace)s”, as %(role)s.")
        % {"workspace": membership.workspace.name, "role": membership.get_role_display().lower()},
    )
    return redirect("dashboard")
