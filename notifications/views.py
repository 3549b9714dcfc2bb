"""The notification list (mark one or all read) and the choice of what is e-mailed.

Every member sees their own notifications of the current workspace only; marking read changes
only the caller's own rows, so a viewer may do it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, user_of, workspace_view
from notifications import selectors, services
from notifications.kinds import Kind, path_of, text_of
from notifications.models import Notification

SHOWN = 100


@dataclass(frozen=True)
class Row:
    notification: Notification
    text: str
    path: str
    label: str


def rows_of(notifications: list[Notification]) -> list[Row]:
    return [
        Row(
            n, text_of(n.kind, n.subject_name), path_of(n.kind, n.subject_id), _(Kind(n.kind).label)
        )
        for n in notifications
    ]


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    workspace, user = access_of(request).workspace, user_of(request)
    shown = list(selectors.notifications_of(workspace, user)[:SHOWN])
    return render(
        request,
        "notifications/index.html",
        {"rows": rows_of(shown), "nav_section": "notifications"},
    )


@require_POST
@workspace_view(own_membership=True)
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    workspace, user = access_of(request).workspace, user_of(request)
    notification = or_404(selectors.notification_get(workspace, user, notification_id))
    services.notification_mark_read(notification=notification)
    return redirect("notifications:index")


@require_POST
@workspace_view(own_membership=True)
def mark_all_read(request: HttpRequest) -> HttpResponse:
    workspace, user = access_of(request).workspace, user_of(request)
    services.notifications_mark_all_read(workspace=workspace, user=user)
    return redirect("notifications:index")


@login_required
def email_settings(request: HttpRequest) -> HttpResponse:
    """GET shows, per kind, whether it is e-mailed; POST saves the ticked ones."""
    user = user_of(request)
    if request.method == "POST":
        chosen = set(request.POST.getlist("email"))
        services.email_choices_set(user=user, by_email={k: k in chosen for k in Kind.values})
        messages.success(request, _("Your notification e-mails are saved."))
        return redirect("notifications:email_settings")
    choices = selectors.email_choices(user)
    kinds = [(kind, _(Kind(kind).label), choices[kind]) for kind in Kind.values]
    return render(request, "notifications/email_settings.html", {"kinds": kinds})
