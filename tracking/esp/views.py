"""The events webhook an e-mail service posts to, and the account page's panel that shows its
URL to owners and lets them rotate it."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_of, base_url_of, or_404, workspace_view
from accounts.models import Role
from sending import selectors
from sending.models import AccountKind, SendingAccount
from tracking.esp import receive, services

log = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["POST", "HEAD"])
def webhook(request: HttpRequest, esp: str, account_id: int, esp_token: str) -> HttpResponse:
    """No sign-in: the secret in the URL (and the service's signature) are the credentials.
    Anything wrong answers 4xx and records nothing; services retry on 5xx only."""
    account = receive.account_for(esp, account_id, esp_token)
    if account is None:
        log.warning("esp webhook: unknown account or wrong secret (%s, %s)", esp, account_id)
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    if request.method == "HEAD":
        return HttpResponse()  # some services check the URL this way when it is set up
    try:
        events = receive.parse(account, request)
    except receive.WebhookRefused as exc:
        log.warning("esp webhook refused for account %s: %s", account.pk, exc)
        return HttpResponse(str(exc).split(":")[0], status=exc.status, content_type="text/plain")
    recorded = receive.receive(account=account, events=events)
    log.info("esp webhook: account %s, %d events, %d new", account.pk, len(events), recorded)
    return HttpResponse("OK", content_type="text/plain")


def _esp_account(request: HttpRequest, account_id: int) -> SendingAccount:
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    if account.kind != AccountKind.ESP:
        raise Http404
    return account


def _panel(request: HttpRequest, account: SendingAccount) -> HttpResponse:
    path = account.esp_webhook_path
    key_help = services.SIGNING_KEY_HELP.get(account.esp_provider)
    context = {
        "account": account,
        "webhook_url": f"{base_url_of(request)}{path}" if path else "",
        "has_signing_key": bool(account.esp_webhook_key),
        "signing_key_help": _(key_help) if key_help else "",
    }
    return render(request, "tracking/esp/_webhook.html", context)


@require_http_methods(["GET"])
@workspace_view()
def webhook_panel(request: HttpRequest, account_id: int) -> HttpResponse:
    return _panel(request, _esp_account(request, account_id))


@require_POST
@workspace_view(Role.OWNER)
def webhook_rotate(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _esp_account(request, account_id)
    services.webhook_token_rotate(account=account)
    return _panel(request, account)


@require_POST
@workspace_view(Role.OWNER)
def webhook_key(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _esp_account(request, account_id)
    services.webhook_key_set(account=account, key=request.POST.get("key", "")[:2000].strip())
    return _panel(request, account)
