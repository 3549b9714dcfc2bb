"""A confirmation step for destructive actions that needs no JavaScript.

A destructive view answers its first POST (or a GET) with a page that says what will be lost
and changes nothing; that page's form repeats the POST's fields with `confirmed=yes`, and only
that second POST acts. A script-less client, or a CSP that forbids `confirm()`, still gets the
question, and a stray POST (a double click, a replayed form) never deletes anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirmed"
_NOT_REPEATED = frozenset({"csrfmiddlewaretoken", CONFIRM_FIELD})


def is_confirmed(request: HttpRequest) -> bool:
    """Whether this request is the POST of a confirmation page."""
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "yes"


def confirm_page(
    request: HttpRequest,
    *,
    title: str,
    losses: Sequence[str],
    action_label: str,
    cancel_url: str,
    action_url: str = "",
) -> HttpResponse:
    """The page that asks before acting: `losses` are sentences saying what will be gone.

    The form posts to `action_url` (this request's path by default) with every field of the
    first POST, so a bulk action keeps its selection.
    """
    fields = [
        (key, value)
        for key in request.POST
        if key not in _NOT_REPEATED
        for value in request.POST.getlist(key)
    ]
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "losses": losses,
            "action_label": action_label,
            "cancel_url": cancel_url,
            "action_url": action_url or request.path,
            "fields": fields,
            "confirm_field": CONFIRM_FIELD,
        },
    )
