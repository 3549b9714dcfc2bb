"""The preference centre's page, `/p/<token>/` (see subscriptions.preferences), and the demo
page the `{preferences_url}` of a test send opens (`/t/p/<token>/`), which changes nothing.

No sign-in. Unlike the one-click unsubscribe, this is a page a person fills in, so its POSTs
are CSRF-protected: the GET sets Django's CSRF cookie (the form's `{% csrf_token %}` asks for
it), which is all a visitor without a session needs.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from audience.models import CustomField, Recipient
from audience.selectors import recipient_values
from content.models import Template
from core.client_ip import client_ip
from sending import testlinks
from subscriptions import preferences
from subscriptions.forms import PreferencesForm

PAGE = "subscriptions/preferences/page.html"


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    response = render(request, PAGE, context, status=status)
    response["X-Robots-Tag"] = "noindex"
    # The token is in the address: other sites must not see it. Not "no-referrer": Chromium
    # then sends `Origin: null` with the form, which Django's CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


def _initial(person: Recipient, asked: list[CustomField]) -> dict[str, Any]:
    values = recipient_values(person, [cf.key for cf in asked])
    return {
        "lists": sorted(preferences.member_of(person)),
        "first_name": person.first_name,
        "last_name": person.last_name,
        **{f"field_{cf.key}": values.get(cf.key, "") for cf in asked},
    }


@never_cache
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, token: str) -> HttpResponse:
    centre = preferences.centre_for(token)
    if centre is None:
        raise Http404("This link is not valid.")
    if centre.recipient is None:
        return _page(request, email=centre.email, closed=True)
    if request.method == "POST" and "unsubscribe_all" in request.POST:
        preferences.unsubscribe_all(centre=centre)
        return _page(request, email=centre.email, closed=True, unsubscribed=True)
    lists = preferences.offered_lists(centre.workspace, centre.recipient)
    asked = preferences.asked_fields(centre.workspace)
    if request.method == "GET":
        form = PreferencesForm(initial=_initial(centre.recipient, asked), lists=lists, asked=asked)
        return _page(request, email=centre.email, form=form, saved="saved" in request.GET)
    form = PreferencesForm(request.POST, lists=lists, asked=asked)
    if form.is_valid():
        data = form.cleaned_data
        given = preferences.Choices(
            lists=set(data["lists"]),
            values={name: data[name] for name in preferences.STANDARD},
            custom=form.custom_values(),
        )
        try:
            preferences.preferences_save(centre=centre, given=given, ip=client_ip(request))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return HttpResponseRedirect(f"{request.path}?saved=1")
    return _page(request, status=400, email=centre.email, form=form)


@never_cache
@require_http_methods(["GET", "POST"])
def test_page(request: HttpRequest, token: str) -> HttpResponse:
    """The preference link of a test send: the page a recipient would see, with the
    workspace's offered lists and no one's data; a POST changes nothing."""
    link = testlinks.link_of(token)
    template = Template.objects.filter(pk=link.template_id).first() if link else None
    if link is None or template is None:
        raise Http404("This link is not valid.")
    workspace = template.workspace
    form = PreferencesForm(
        lists=preferences.offered_lists(workspace, None),
        asked=preferences.asked_fields(workspace),
    )
    return _page(request, email=link.address, form=form, test=True, done=request.method == "POST")
