"""Settings → Webhooks: owners add endpoints (the secret is shown once), rotate secrets, send
tests, turn endpoints on and off, and see and retry the requests sent to each."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, user_of, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from webhooks import selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import Endpoint, Event, EventState

RECENT = 50


def _endpoint(request: HttpRequest, endpoint_id: int) -> Endpoint:
    return or_404(selectors.endpoint_get(access_of(request).workspace, endpoint_id))


@workspace_view(Role.OWNER)
def index(request: HttpRequest) -> HttpResponse:
    """GET lists the endpoints; POST adds one and shows its secret, once."""
    workspace = access_of(request).workspace
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.endpoint_create(
                workspace=workspace, created_by=user_of(request), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _detail(request, issued.endpoint, new_secret=issued.secret, status=201)
    return render(
        request,
        "webhooks/index.html",
        {"form": form, "endpoints": selectors.endpoints(workspace)},
        status=400 if form.errors else 200,
    )


def _detail(
    request: HttpRequest,
    endpoint: Endpoint,
    *,
    new_secret: str = "",
    form: EndpointForm | None = None,
    status: int = 200,
) -> HttpResponse:
    initial: dict[str, Any] = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
    }
    reason = endpoint.disabled_reason
    context = {
        "endpoint": endpoint,
        "disabled_reason": _(reason) if reason == services.DISABLED_BY_USER else reason,
        "form": form or EndpointForm(initial=initial),
        "new_secret": new_secret,
        "recent": selectors.events_of(endpoint)[:RECENT],
    }
    return render(request, "webhooks/endpoint.html", context, status=status)


@workspace_view(Role.OWNER)
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """GET shows the endpoint and its recent requests; POST changes its URL, events, note."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method != "POST":
        return _detail(request, endpoint)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The endpoint is saved."))
            return redirect("webhooks:endpoint", endpoint_id=endpoint.pk)
    return _detail(request, endpoint, form=form, status=400)


@workspace_view(Role.OWNER)
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    issued = services.endpoint_rotate_secret(endpoint=_endpoint(request, endpoint_id))
    return _detail(request, issued.endpoint, new_secret=issued.secret)


@workspace_view(Role.OWNER)
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    event = services.event_send_test(endpoint=_endpoint(request, endpoint_id))
    _tell(request, event, test=True)
    return redirect("webhooks:endpoint", endpoint_id=endpoint_id)


@workspace_view(Role.OWNER)
@require_POST
def endpoint_active(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    active = request.POST.get("active") == "1"
    endpoint = services.endpoint_update(endpoint=_endpoint(request, endpoint_id), active=active)
    messages.success(
        request, _("The endpoint is on.") if endpoint.active else _("The endpoint is off.")
    )
    return redirect("webhooks:endpoint", endpoint_id=endpoint_id)


@workspace_view(Role.OWNER)
@require_POST
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the endpoint %(url)s?") % {"url": endpoint.url},
            losses=[
                _(
                    "Nothing more is sent to it, and the requests waiting for it and their "
                    "history are deleted with it."
                )
            ],
            action_label=_("Delete the endpoint"),
            cancel_url=reverse("webhooks:endpoint", kwargs={"endpoint_id": endpoint.pk}),
        )
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, _("The endpoint %(url)s is deleted.") % {"url": endpoint.url})
    return redirect("webhooks:index")


@workspace_view(Role.OWNER)
@require_POST
def event_retry(request: HttpRequest, event_id: int) -> HttpResponse:
    event = or_404(selectors.event_get(access_of(request).workspace, event_id))
    event = services.event_retry_now(event=event)
    _tell(request, event, test=False)
    return redirect("webhooks:endpoint", endpoint_id=event.endpoint_id)


def _tell(request: HttpRequest, event: Event, *, test: bool) -> None:
    if event.state == EventState.DELIVERED:
        text = (
            _("The test was delivered (HTTP %(code)s).")
            if test
            else _("The retry was delivered (HTTP %(code)s).")
        )
        messages.success(request, text % {"code": event.last_status_code})
    else:
        text = _("The test failed: %(error)s.") if test else _("The retry failed: %(error)s.")
        messages.error(request, text % {"error": event.last_error or _("no answer")})
