"""API keys in the UI: owners create (the key is shown once), list and revoke them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, user_of, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.keys import selectors, services
from accounts.models import Role


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="What uses this key, e.g. “CRM sync”.")
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.EDITOR,
        help_text="What the key may do in this workspace.",
    )


@workspace_view(Role.OWNER)
def api_keys(request: HttpRequest) -> HttpResponse:
    """GET lists the keys (owners only: keys are credentials); POST creates one."""
    access = access_of(request)
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        new_key = services.api_key_create(
            workspace=access.workspace, created_by=user_of(request), **form.cleaned_data
        )
        form = ApiKeyForm()
    return render(
        request,
        "api/keys.html",
        {
            "form": form,
            # Each key with the role it acts with now: its creator's, if lower; None if stopped.
            "keys": [
                (key, selectors.api_key_role(key)) for key in selectors.api_keys(access.workspace)
            ],
            "new_key": new_key,
        },
    )


@workspace_view(Role.OWNER)
@require_POST
def api_key_revoke(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = or_404(selectors.api_key_get(access_of(request).workspace, api_key_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Revoke the key “%(name)s”?") % {"name": api_key.name},
            losses=[
                _(
                    "Every call made with it gets 401 from now on, and it cannot be turned back "
                    "on: whatever uses it needs a new key."
                )
            ],
            action_label=_("Revoke the key"),
            cancel_url=reverse("api_keys"),
        )
    services.api_key_revoke(api_key=api_key)
    messages.success(
        request,
        _("The key “%(name)s” is revoked; calls with it now get 401.") % {"name": api_key.name},
    )
    return redirect("api_keys")
