"""The platform managers' console: every user and workspace, blocking, stopping sending.

To anyone who is not a platform manager these routes answer 404, as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import forms, selectors, services
from accounts.access import or_404, user_of
from accounts.models import User, Workspace

View = Callable[..., HttpResponse]


def manager_view(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not selectors.user_is_platform_manager(user_of(request)):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class UserRow:
    user: User
    refusal: str | None  # why this manager may not block (or unblock) the user


@manager_view
def index(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")
    users = Paginator(selectors.platform_users(search), 50).get_page(request.GET.get("page"))
    manager = user_of(request)
    # The page offers only what the services would allow this manager, and says why not.
    rows = [
        UserRow(
            user=shown,
            refusal=(selectors.block_refusal if shown.is_active else selectors.unblock_refusal)(
                shown, manager
            ),
        )
        for shown in users
    ]
    workspaces = Paginator(selectors.platform_workspaces(search), 50).get_page(
        request.GET.get("wpage")
    )
    return render(
        request,
        "accounts/platform.html",
        {"users": users, "rows": rows, "workspaces": workspaces, "q": search},
    )


@manager_view
@require_POST
def user_block(request: HttpRequest, user_id: int) -> HttpResponse:
    user = or_404(User.objects.filter(pk=user_id).first())
    form = forms.ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.user_block(user=user, by=user_of(request), reason=reason)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(email)s is blocked.") % {"email": user.email})
    return redirect("platform:index")


@manager_view
@require_POST
def user_unblock(request: HttpRequest, user_id: int) -> HttpResponse:
    user = or_404(User.objects.filter(pk=user_id).first())
    try:
        services.user_unblock(user=user, by=user_of(request))
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(email)s is unblocked.") % {"email": user.email})
    return redirect("platform:index")


@manager_view
@require_POST
def workspace_sending(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = or_404(Workspace.objects.filter(pk=workspace_id).first())
    if request.POST.get("action") == "resume":
        services.workspace_resume_sending(workspace=workspace)
        messages.success(
            request, _("Sending is resumed for “%(name)s”.") % {"name": workspace.name}
        )
    else:
        form = forms.ReasonForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        services.workspace_stop_sending(workspace=workspace, by=user_of(request), reason=reason)
        messages.success(
            request, _("Sending is stopped for “%(name)s”.") % {"name": workspace.name}
        )
    return redirect("platform:index")
