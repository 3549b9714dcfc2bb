"""The links in every message: one-click unsubscribe (RFC 8058) and view in browser.

No sign-in and no cookies: the signed token in the URL is the only credential. The one-click
POST comes from mail providers without a CSRF token, so it is exempt, idempotent and never
redirects; a GET (a person, or a link scanner) only shows a page with a button.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns import links
from campaigns.engine.send import delivery_values, frozen_parts
from campaigns.models import Delivery
from content.rendering import render_message
from content.syntax import ContentError
from tracking import services

PREVIEW_CSP = "default-src 'none'; img-src data: https: http:; style-src 'unsafe-inline'; sandbox"


def _delivery(token: str) -> Delivery:
    delivery_id = links.delivery_of(token)
    delivery = (
        Delivery.objects.select_related("campaign", "recipient").filter(pk=delivery_id).first()
        if delivery_id is not None
        else None
    )
    if delivery is None:
        raise Http404("This link is not valid.")
    return delivery


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    delivery = _delivery(token)
    if request.method == "POST":
        services.unsubscribe(delivery=delivery)
        return render(request, "tracking/unsubscribed.html", {"email": delivery.email})
    return render(request, "tracking/unsubscribe.html", {"email": delivery.email})


@require_http_methods(["GET"])
def view_in_browser(request: HttpRequest, token: str) -> HttpResponse:
    """The message as its recipient got it, under a CSP that lets no script run."""
    delivery = _delivery(token)
    try:
        message = render_message(
            frozen_parts(delivery.campaign, with_attachments=False),
            delivery_values(delivery, token),
            from_email="view@postroom.invalid",
            to=delivery.email,
        )
    except ContentError as exc:
        raise Http404("This message cannot be shown.") from exc
    body = message.html or f"<pre>{escape(message.text)}</pre>"
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_CSP
    response["X-Robots-Tag"] = "noindex"
    return response
