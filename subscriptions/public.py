"""The public side of sign-up forms: the hosted page, the endpoint embedded forms post to, the
ALTCHA challenge and the confirmation link. No login; the form is found by its public key.

Posting needs no CSRF token: the form is embedded on other sites, and a sign-up grants nothing
to whoever sends it (the address joins only through the link mailed to it).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from core.client_ip import client_ip
from subscriptions import abuse, selectors, services
from subscriptions.forms import PublicSignupForm
from subscriptions.models import SignupForm

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _form(form_key: str) -> SignupForm:
    form = selectors.form_public(form_key)
    if form is None:
        raise Http404("No such form")
    return form


def base_url(request: HttpRequest) -> str:
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")


def _page(
    request: HttpRequest, form: SignupForm, template: str, status: int = 200, **context: Any
) -> HttpResponse:
    context = {"signup_form": form, "workspace": form.workspace, **context}
    response = render(request, f"subscriptions/public/{template}.html", context, status=status)
    if form.require_challenge:
        # ALTCHA's widget brings its styles inline and starts its workers from data: URLs.
        response["Content-Security-Policy"] = PAGE_POLICY_WITH_CHALLENGE
    return response


PAGE_POLICY_WITH_CHALLENGE = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob: data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _limited(request: HttpRequest, form: SignupForm, limited: abuse.Limited) -> HttpResponse:
    response = _page(request, form, "limited", status=429, limited=limited)
    response["Retry-After"] = str(limited.wait)
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def hosted(request: HttpRequest, form_key: str) -> HttpResponse:
    """GET: the hosted page. POST (from it or an embedded copy): take the sign-up."""
    form = _form(form_key)
    if request.method == "GET":
        return _page(request, form, "form", public=PublicSignupForm(signup_form=form))
    ip = client_ip(request)
    limited = abuse.check_client(ip)
    if limited is not None:
        return _limited(request, form, limited)
    if abuse.caught_by_honeypot(request.POST):
        return _page(request, form, "thanks")  # robots learn nothing
    public = PublicSignupForm(request.POST, signup_form=form)
    challenge_payload = request.POST.get(abuse.CHALLENGE_FIELD, "")
    if form.require_challenge and not abuse.solution_accepted(form.public_key, challenge_payload):
        public.is_valid()
        public.add_error(None, _("Please wait for the check below the form to finish."))
        return _page(request, form, "form", status=400, public=public)
    if not public.is_valid():
        return _page(request, form, "form", status=400, public=public)
    limited = abuse.check_address(form.workspace_id, public.cleaned_data["email"].strip().lower())
    if limited is not None:
        return _limited(request, form, limited)
    try:
        services.signup_submit(
            form=form,
            email=public.cleaned_data["email"],
            values=public.standard_values(),
            custom=public.custom_values(),
            ip=ip,
            base_url=base_url(request),
            now=timezone.now(),
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            name = field.removeprefix("field_")
            public.add_error(name if name in public.fields else None, errors)
        return _page(request, form, "form", status=400, public=public)
    return _page(request, form, "thanks")


@never_cache
@require_GET
def challenge(request: HttpRequest, form_key: str) -> HttpResponse:
    """A fresh ALTCHA challenge for the form's widget; embedded forms fetch it across sites."""
    form = _form(form_key)
    if not form.require_challenge:
        raise Http404("This form asks no challenge")
    response = JsonResponse(abuse.challenge(form.public_key))
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def style(request: HttpRequest, form_key: str) -> HttpResponse:
    """The hosted page's own rules (the workspace's colour, the hidden honeypot), as a
    stylesheet: the page's CSP allows no inline style."""
    color = _form(form_key).workspace.signup_color
    if not _COLOR.fullmatch(color):  # saved through a form that checks it; never trusted here
        color = "#2563eb"
    css = (
        f".signup-title {{ color: {color}; }}\n"
        f".signup-button {{ background-color: {color}; border-color: {color}; color: #fff; }}\n"
        # The honeypot: off screen for people, still a field to fill for robots.
        ".signup-hp { position: absolute; left: -10000px; width: 1px; height: 1px; "
        "overflow: hidden; }\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "max-age=300"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links, and must not confirm for the person);
    POST confirms."""
    if request.method == "GET":
        return render(request, "subscriptions/public/confirm.html", {"token": token})
    done = services.signup_confirm(token=token, ip=client_ip(request), now=timezone.now())
    status = 200 if done.outcome in ("confirmed", "already") else 400
    return render(
        request,
        "subscriptions/public/confirmed.html",
        {"outcome": str(done.outcome), "signup_form": done.form},
        status=status,
    )
