"""Pages to manage a workspace's sign-up forms: the list, create, edit (with the embed code
and the hosted page's address) and delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from subscriptions import selectors, services
from subscriptions.forms import PublicSignupForm, SignupFormForm, initial_of
from subscriptions.models import DEFAULT_CONFIRM_SUBJECT, DEFAULT_CONFIRM_TEXT, SignupForm
from subscriptions.public import base_url


def _ws(request: HttpRequest) -> Any:
    return access_of(request).workspace


def _add_errors(form: SignupFormForm, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        name = {"fields": "asked"}.get(name, name)
        form.add_error(name if name in form.fields else None, errors)


def embed_code(request: HttpRequest, form: SignupForm) -> str:
    """The HTML to paste on another site: a plain form that posts to Postroom."""
    site = base_url(request)
    return render_to_string(
        "subscriptions/embed.html",
        {
            "signup_form": form,
            "public": PublicSignupForm(signup_form=form),
            "site": site,
            "action": site + reverse("subscribe:form", kwargs={"form_key": form.public_key}),
            "challenge": site
            + reverse("subscribe:challenge", kwargs={"form_key": form.public_key}),
            "color": form.workspace.signup_color,
        },
    ).strip()


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/index.html", {"forms": selectors.forms_of(_ws(request))})


@workspace_view(Role.EDITOR)
def create(request: HttpRequest) -> HttpResponse:
    workspace = _ws(request)
    form = SignupFormForm(
        request.POST or None,
        workspace=workspace,
        initial={"confirm_subject": DEFAULT_CONFIRM_SUBJECT, "confirm_text": DEFAULT_CONFIRM_TEXT},
    )
    if request.method == "POST" and form.is_valid():
        try:
            made = services.form_create(workspace=workspace, given=form.settings())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Form created."))
            return redirect("subscriptions:detail", form_id=made.pk)
    status = 400 if form.errors else 200
    return render(request, "subscriptions/form.html", {"form": form}, status=status)


@workspace_view()
def detail(request: HttpRequest, form_id: int) -> HttpResponse:
    """Show and edit one form (POST needs editor)."""
    workspace = _ws(request)
    signup_form = or_404(selectors.form_get(workspace, form_id))
    form = SignupFormForm(
        request.POST or None, workspace=workspace, initial=initial_of(signup_form)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.form_update(form=signup_form, given=form.settings())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("subscriptions:detail", form_id=signup_form.pk)
    hosted = base_url(request) + reverse(
        "subscribe:form", kwargs={"form_key": signup_form.public_key}
    )
    context = {
        "form": form,
        "signup_form": signup_form,
        "hosted_url": hosted,
        "embed": embed_code(request, signup_form),
    }
    return render(request, "subscriptions/form.html", context, status=400 if form.errors else 200)


@workspace_view(Role.EDITOR)
@require_POST
def delete(request: HttpRequest, form_id: int) -> HttpResponse:
    signup_form = or_404(selectors.form_get(_ws(request), form_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the sign-up form %(name)s?") % {"name": signup_form.name},
            losses=[
                _("Its hosted page and every copy embedded on other sites stop working."),
                _(
                    "Sign-ups still waiting for their confirmation are dropped; their links stop "
                    "working. People who already joined stay on the lists, with their consent."
                ),
            ],
            action_label=_("Delete the form"),
            cancel_url=reverse("subscriptions:index"),
        )
    services.form_delete(form=signup_form)
    messages.success(request, _("Form %(name)s deleted.") % {"name": signup_form.name})
    return redirect("subscriptions:index")
