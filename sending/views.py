"""Pages for sending accounts, captured messages and DKIM keys.

Owners add, change and delete accounts and keys; editors test and use them; viewers read.
Objects are looked up through workspace-scoped selectors, so another workspace's ids are 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from accounts.access import access_of, base_url_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from content import selectors as content_selectors
from content.syntax import ContentError
from sending import dns_check, oauth, selectors, services, template_sends
from sending.consent import consent_state, consent_target, provider_refusal
from sending.forms import AccountForm, DkimKeyForm, TemplateTestSendForm, TestForm
from sending.models import AccountStatus

# The captured HTML is untrusted: nothing may run, load or navigate, only show.
CAPTURED_HTML_CSP = "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox"


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    workspace = access_of(request).workspace
    now = timezone.now()
    rows = selectors.account_rows(workspace, now)
    hour_used = selectors.hour_used(workspace, now) if workspace.hourly_limit else None
    return render(request, "sending/index.html", {"rows": rows, "hour_used": hour_used})


@workspace_view(Role.OWNER)
def account_create(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = services.account_create(
            workspace=access_of(request).workspace, data=form.account_data()
        )
        messages.success(
            request, _("%(name)s is saved. Test it to start sending.") % {"name": account.name}
        )
        return redirect("sending:account_detail", account_id=account.pk)
    return render(request, "sending/account_form.html", {"form": form, "account": None})


@workspace_view()
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    account = or_404(selectors.account_get(workspace, account_id))
    now = timezone.now()
    context = {
        "account": account,
        "sent_today": selectors.sent_today(workspace, account, now),
        "limit_today": selectors.limit_today(workspace, account, now),
        "warmup": selectors.warmup_state(workspace, account, now),
        "test_form": TestForm(),
        "oauth_redirect_uri": _oauth_redirect_uri(request),
    }
    return render(request, "sending/account_detail.html", context)


@workspace_view(Role.OWNER)
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    form = AccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        services.account_update(account=account, data=form.account_data())
        messages.success(request, _("%(name)s is saved.") % {"name": account.name})
        return redirect("sending:account_detail", account_id=account.pk)
    return render(request, "sending/account_form.html", {"form": form, "account": account})


@require_POST
@workspace_view(Role.OWNER)
def account_delete(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the sending account %(name)s?") % {"name": account.name},
            losses=[
                _(
                    "This deletes the account and its stored password or key. Campaigns that "
                    "send only through it wait until another account is added to them; reports "
                    "keep their figures."
                )
            ],
            action_label=_("Delete the account"),
            cancel_url=reverse("sending:account_detail", kwargs={"account_id": account.pk}),
        )
    services.account_delete(account=account)
    messages.success(request, _("%(name)s is deleted.") % {"name": account.name})
    return redirect("sending:index")


@require_POST
@workspace_view(Role.OWNER)
def account_status(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    wanted = request.POST.get("status")
    if wanted not in (AccountStatus.ACTIVE, AccountStatus.INACTIVE):
        messages.error(request, _("Choose active or inactive."))
    else:
        services.account_set_status(account=account, status=wanted)
        messages.success(
            request,
            (
                _("%(name)s is active now.")
                if wanted == AccountStatus.ACTIVE
                else _("%(name)s is inactive now.")
            )
            % {"name": account.name},
        )
    return redirect("sending:account_detail", account_id=account.pk)


@require_POST
@workspace_view(Role.OWNER)
def account_warmup_resume(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    try:
        services.account_warmup_resume(account=account, now=timezone.now())
    except services.SendingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The warm-up of %(name)s goes on from tomorrow.") % {"name": account.name},
        )
    return redirect("sending:account_detail", account_id=account.pk)


@require_POST
@workspace_view(Role.EDITOR)
def account_test(request: HttpRequest, account_id: int) -> HttpResponse:
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    form = TestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid address to send the test message to, or none."))
        return redirect("sending:account_detail", account_id=account.pk)
    outcome = services.account_test(account=account, send_to=form.cleaned_data["send_to"] or None)
    (messages.success if outcome.success else messages.error)(request, outcome.message)
    return redirect("sending:account_detail", account_id=account.pk)


# --- OAuth2 consent ------------------------------------------------------------------------

CONSENT = "sending"  # the consent state's purpose (sending.consent)


def _oauth_redirect_uri(request: HttpRequest) -> str:
    return base_url_of(request) + reverse("sending:oauth_callback")


@require_POST
@workspace_view(Role.OWNER)
def account_oauth_start(request: HttpRequest, account_id: int) -> HttpResponse:
    """Send the owner to the provider's consent page; the state ties the answer to this
    account and this session."""
    account = or_404(selectors.account_get(access_of(request).workspace, account_id))
    state = consent_state(request, purpose=CONSENT, target=account.pk)
    try:
        url = oauth.authorization_url(
            account,
            redirect_uri=_oauth_redirect_uri(request),
            state=state,
            login_hint=account.smtp_username or account.from_email,
        )
    except oauth.OAuthError as exc:
        messages.error(request, str(exc))
        return redirect("sending:account_detail", account_id=account.pk)
    return HttpResponseRedirect(url)


@require_GET
@workspace_view(Role.OWNER)
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the owner back, with a code to trade for tokens."""
    target = consent_target(request, purpose=CONSENT)
    if target is None:
        messages.error(request, _("This sign-in answer is expired or not ours: start again."))
        return redirect("sending:index")
    account = or_404(selectors.account_get(access_of(request).workspace, target))
    code = request.GET.get("code", "")
    if not code:
        messages.error(
            request,
            _("The provider did not grant access: %(why)s") % {"why": provider_refusal(request)},
        )
        return redirect("sending:account_detail", account_id=account.pk)
    try:
        services.account_oauth_connect(
            account=account, code=code, redirect_uri=_oauth_redirect_uri(request)
        )
    except oauth.OAuthError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Connected. Test the account to start sending."))
    return redirect("sending:account_detail", account_id=account.pk)


# --- Captured messages ----------------------------------------------------------------------


@workspace_view()
def captured_list(request: HttpRequest) -> HttpResponse:
    captured = selectors.captured_messages(access_of(request).workspace)[:200]
    return render(request, "sending/captured_list.html", {"captured": captured})


@workspace_view()
def captured_detail(request: HttpRequest, captured_id: int) -> HttpResponse:
    captured = or_404(selectors.captured_get(access_of(request).workspace, captured_id))
    headers, html, text = selectors.captured_parts(captured)
    source = bytes(captured.raw).decode("utf-8", "replace")
    return render(
        request,
        "sending/captured_detail.html",
        {
            "captured": captured,
            "headers": headers,
            "has_html": html is not None,
            "text": text,
            "source": source,
        },
    )


@xframe_options_sameorigin
@workspace_view()
def captured_html(request: HttpRequest, captured_id: int) -> HttpResponse:
    """The message's HTML alone, for the sandboxed iframe of the detail page."""
    captured = or_404(selectors.captured_get(access_of(request).workspace, captured_id))
    _, html, _ = selectors.captured_parts(captured)
    response = HttpResponse(html or "", content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = CAPTURED_HTML_CSP
    return response


# --- DKIM -----------------------------------------------------------------------------------


@workspace_view()
def dkim_list(request: HttpRequest) -> HttpResponse:
    keys = selectors.dkim_keys(access_of(request).workspace)
    return render(request, "sending/dkim_list.html", {"keys": keys, "form": DkimKeyForm()})


@workspace_view(Role.OWNER)
def dkim_create(request: HttpRequest) -> HttpResponse:
    form = DkimKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key = services.dkim_key_create(
                workspace=access_of(request).workspace,
                domain=form.cleaned_data["domain"],
                selector=form.cleaned_data["selector"],
            )
        except services.SendingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("A key for %(domain)s is ready: publish its record.") % {"domain": key.domain},
            )
            return redirect("sending:dkim_detail", dkim_key_id=key.pk)
    keys = selectors.dkim_keys(access_of(request).workspace)
    return render(request, "sending/dkim_list.html", {"keys": keys, "form": form})


@workspace_view()
def dkim_detail(request: HttpRequest, dkim_key_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    key = or_404(selectors.dkim_key_get(workspace, dkim_key_id))
    check = None
    if request.GET.get("check"):
        check = dns_check.check_domain(
            key.domain, keys=[key], resolver=dns_check.default_resolver()
        )
    return render(request, "sending/dkim_detail.html", {"key": key, "check": check})


@require_POST
@workspace_view(Role.OWNER)
def dkim_delete(request: HttpRequest, dkim_key_id: int) -> HttpResponse:
    key = or_404(selectors.dkim_key_get(access_of(request).workspace, dkim_key_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the DKIM key %(key)s?") % {"key": key},
            losses=[
                _(
                    "Messages from %(domain)s go unsigned from now on, and the private key cannot "
                    "be recovered: remove its DNS record once nothing signed with it is in flight."
                )
                % {"domain": key.domain}
            ],
            action_label=_("Delete the key"),
            cancel_url=reverse("sending:dkim_detail", kwargs={"dkim_key_id": key.pk}),
        )
    services.dkim_key_delete(key=key)
    messages.success(
        request,
        _("The key %(key)s is deleted; messages from %(domain)s go unsigned.")
        % {"key": key, "domain": key.domain},
    )
    return redirect("sending:dkim_list")


# --- Test sends of a template ----------------------------------------------------------------


@workspace_view(Role.EDITOR)
def template_test_send(request: HttpRequest, template_id: int) -> HttpResponse:
    """A test of a template to up to ten addresses, through one of the workspace's accounts.

    Each address gets the message as its recipient would (sample data for unknown ones)."""
    workspace = access_of(request).workspace
    template = or_404(content_selectors.template_get(workspace, template_id))
    form = TemplateTestSendForm(request.POST or None, workspace=workspace)
    results = None
    if request.method == "POST" and form.is_valid():
        try:
            results = template_sends.template_test_send(
                workspace=workspace,
                template=template,
                account=form.cleaned_data["account"],
                addresses=form.cleaned_data["addresses"],
            )
        except ContentError as exc:
            form.add_error(None, _("The template cannot be rendered: %(reason)s") % {"reason": exc})
        except services.SendingError as exc:
            form.add_error(None, str(exc))
    return render(
        request,
        "sending/template_test_send.html",
        {"template": template, "form": form, "results": results},
    )
