"""The links in every message: one-click unsubscribe (RFC 8058), view in browser, and where
tracking is on the open pixel and tracked links.

No sign-in and no cookies: the signed token in the URL is the only credential. The one-click
POST comes from mail providers without a CSRF token, so it is exempt, idempotent and never
redirects; a GET (a person, or a link scanner) only shows a page with a button.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from audience.selectors import custom_fields, placeholder_names, recipient_of_address
from campaigns import links
from campaigns.models import Delivery
from campaigns.selectors import message_as_sent
from content.models import Template
from content.rendering import TemplateParts, render_message, sample_values
from content.syntax import ContentError
from core.client_ip import client_ip
from sending import testlinks
from sending.template_sends import values_for_test
from sending.testlinks import SentTest
from tracking import hits, services

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
    return render(request, "tracking/unsubscribe.html", {"email": delivery.email, "token": token})


@require_http_methods(["GET"])
def view_in_browser(request: HttpRequest, token: str) -> HttpResponse:
    """The message as its recipient got it, under a CSP that lets no script run."""
    delivery = _delivery(token)
    try:
        parts, values = message_as_sent(delivery, token)
        message = render_message(
            parts,
            values,
            from_email="view@postroom.invalid",
            to=delivery.email,
        )
    except ContentError as exc:
        raise Http404("This message cannot be shown.") from exc
    return _shown(message.html or f"<pre>{escape(message.text)}</pre>")


# The smallest transparent GIF (1x1).
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The 1x1 image of a message: an open is recorded before the image is answered."""
    found = hits.delivery_of(token)
    if found is None:
        raise Http404("This link is not valid.")
    if request.method == "GET":  # a HEAD reads nothing: no one saw an image
        hits.open_hit(
            found, user_agent=request.META.get("HTTP_USER_AGENT", ""), ip=client_ip(request)
        )
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str, index: int) -> HttpResponse:
    """A tracked link: to the `index`-th link of the campaign's frozen content, and only there
    (never to an address from the request); the click is recorded before the redirect."""
    found = hits.delivery_of(token, click=index)
    target = hits.click_target(found.delivery, index) if found is not None else None
    if found is None or target is None:
        raise Http404("This link is not valid.")
    _frozen, url = target
    if request.method == "GET":  # a HEAD (a checker, not a reader) follows nothing
        hits.click_hit(
            found,
            index,
            url,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            ip=client_ip(request),
        )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _test(token: str) -> tuple[SentTest, Template]:
    link = testlinks.link_of(token)
    template = Template.objects.filter(pk=link.template_id).first() if link else None
    if link is None or template is None:
        raise Http404("This link is not valid.")
    return link, template


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_test_link(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link of a test: the page a recipient would see, and no unsubscribe
    (a test names a template and an address, never a delivery). A one-click POST gets 200."""
    link, _template = _test(token)
    context = {
        "email": link.address,
        "test": True,
        "done": request.method == "POST",
        "token": token,
    }
    return render(request, "tracking/test_unsubscribe.html", context)


@require_http_methods(["GET"])
def view_test_link(request: HttpRequest, token: str) -> HttpResponse:
    """The view link of a test: the template as it is now, with the values the test had."""
    link, template = _test(token)
    workspace = template.workspace
    person = recipient_of_address(workspace, link.address)
    keys = list(custom_fields(workspace).values_list("key", flat=True))
    values = values_for_test(
        link.address, person, keys, sample_values(placeholder_names(workspace))
    )
    values |= testlinks.links_for_test(template.pk, link.address)
    try:
        message = render_message(
            parts_of_text(template), values, from_email="view@postroom.invalid", to=link.address
        )
    except ContentError as exc:
        raise Http404("This message cannot be shown.") from exc
    return _shown(message.html or f"<pre>{escape(message.text)}</pre>")


def parts_of_text(template: Template) -> TemplateParts:
    """A template's parts without its attachment files, which a page does not show."""
    return TemplateParts(
        subject=template.subject,
        html=template.html_body,
        text=template.text_body,
        text_from_html=template.text_from_html,
    )


def _shown(body: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_CSP
    response["X-Robots-Tag"] = "noindex"
    return response
