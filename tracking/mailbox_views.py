"""Pages for the workspace's bounce mailboxes (the "Feedback" settings).

Owners add, change, delete and test mailboxes, and connect an OAuth2 one through its
provider's consent page (the round trip is a sending account's: `sending.consent`); viewers
read them. Lookups go through the workspace-scoped selectors in tracking.mailboxes, so
another workspace's ids are 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import access_of, base_url_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from core.keyset import other_params, page_from
from sending import oauth
from sending.consent import consent_state, consent_target, provider_refusal
from tracking import mailboxes
from tracking.forms import BounceMailboxForm
from tracking.models import MailboxOutcome

PER_PAGE = 50
CONSENT = "tracking.mailbox"  # the consent state's purpose (sending.consent)


@workspace_view()
def mailbox_index(request: HttpRequest) -> HttpResponse:
    rows = mailboxes.mailboxes_of(access_of(request).workspace)
    return render(request, "tracking/mailbox_index.html", {"mailboxes": rows})


@workspace_view(Role.OWNER)
def mailbox_create(request: HttpRequest) -> HttpResponse:
    form = BounceMailboxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mailbox = mailboxes.mailbox_create(
            workspace=access_of(request).workspace, data=form.mailbox_data()
        )
        messages.success(request, _("%(name)s is saved. Test it.") % {"name": mailbox.name})
        return redirect("tracking:mailbox_detail", mailbox_id=mailbox.pk)
    return render(request, "tracking/mailbox_form.html", {"form": form, "mailbox": None})


@workspace_view()
def mailbox_detail(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    return render(
        request,
        "tracking/mailbox_detail.html",
        {"mailbox": mailbox, "oauth_redirect_uri": _oauth_redirect_uri(request)},
    )


@workspace_view(Role.OWNER)
def mailbox_edit(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    form = BounceMailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST" and form.is_valid():
        mailboxes.mailbox_update(mailbox=mailbox, data=form.mailbox_data())
        messages.success(request, _("%(name)s is saved.") % {"name": mailbox.name})
        return redirect("tracking:mailbox_detail", mailbox_id=mailbox.pk)
    return render(request, "tracking/mailbox_form.html", {"form": form, "mailbox": mailbox})


@require_POST
@workspace_view(Role.OWNER)
def mailbox_delete(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    if not is_confirmed(request):
        return confirm_page(
            request,
            title=_("Delete the bounce mailbox “%(name)s”?") % {"name": mailbox.name},
            losses=[
                _(
                    "Bounces, complaints and replies arriving at %(user)s@%(host)s will no "
                    "longer be read. The messages on the server stay there."
                )
                % {"user": mailbox.username, "host": mailbox.host}
            ],
            action_label=_("Delete the mailbox"),
            cancel_url=reverse("tracking:mailbox_detail", kwargs={"mailbox_id": mailbox.pk}),
        )
    mailboxes.mailbox_delete(mailbox=mailbox)
    messages.success(request, _("%(name)s is deleted.") % {"name": mailbox.name})
    return redirect("tracking:mailbox_index")


@require_POST
@workspace_view(Role.OWNER)
def mailbox_test(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    outcome = mailboxes.mailbox_test(mailbox=mailbox)
    (messages.success if outcome.success else messages.error)(request, outcome.message)
    return redirect("tracking:mailbox_detail", mailbox_id=mailbox.pk)


@workspace_view()
def mailbox_messages(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """What the mailbox gave and how each message was classified, newest first."""
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    outcome = request.GET.get("outcome", "")
    rows = mailboxes.mailbox_messages(mailbox, outcome=outcome)
    page = page_from(rows, request.GET, key="received_at", size=PER_PAGE)
    return render(
        request,
        "tracking/mailbox_messages.html",
        {
            "mailbox": mailbox,
            "page": page,
            "outcome": outcome if outcome in MailboxOutcome.values else "",
            "query": other_params(request.GET),
            "outcomes": MailboxOutcome.choices,
        },
    )


@require_POST
@workspace_view(Role.OWNER)
def mailbox_messages_purge(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    back = reverse("tracking:mailbox_messages", kwargs={"mailbox_id": mailbox.pk})
    if not is_confirmed(request):
        count = mailboxes.mailbox_messages(mailbox).count()
        return confirm_page(
            request,
            title=_("Purge the messages read from “%(name)s”?") % {"name": mailbox.name},
            losses=[
                _(
                    "The list of the %(count)s messages read from this mailbox: what each one "
                    "was, how it was classified, and the start of those not acted on. It "
                    "cannot be undone."
                )
                % {"count": count},
                _(
                    "What they recorded stays: bounces, complaints, replies and the "
                    "suppressions they caused. The messages on the server are not touched."
                ),
            ],
            action_label=_("Purge the messages"),
            cancel_url=back,
        )
    deleted = mailboxes.mailbox_messages_purge(mailbox=mailbox)
    messages.success(request, _("%(count)s messages purged.") % {"count": deleted})
    return redirect(back)


# --- OAuth2 consent ------------------------------------------------------------------------


def _oauth_redirect_uri(request: HttpRequest) -> str:
    return base_url_of(request) + reverse("tracking:mailbox_oauth_callback")


@require_POST
@workspace_view(Role.OWNER)
def mailbox_oauth_start(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """Send the owner to the provider's consent page, asking for access to the mailbox."""
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, mailbox_id))
    state = consent_state(request, purpose=CONSENT, target=mailbox.pk)
    try:
        url = oauth.authorization_url(
            mailbox,
            redirect_uri=_oauth_redirect_uri(request),
            state=state,
            login_hint=mailbox.username,
            scopes=mailboxes.MAILBOX_SCOPES,
        )
    except oauth.OAuthError as exc:
        messages.error(request, str(exc))
        return redirect("tracking:mailbox_detail", mailbox_id=mailbox.pk)
    return HttpResponseRedirect(url)


@require_GET
@workspace_view(Role.OWNER)
def mailbox_oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the owner back, with a code to trade for tokens."""
    target = consent_target(request, purpose=CONSENT)
    if target is None:
        messages.error(request, _("This sign-in answer is expired or not ours: start again."))
        return redirect("tracking:mailbox_index")
    mailbox = or_404(mailboxes.mailbox_get(access_of(request).workspace, target))
    code = request.GET.get("code", "")
    if not code:
        messages.error(
            request,
            _("The provider did not grant access: %(refusal)s")
            % {"refusal": provider_refusal(request)},
        )
        return redirect("tracking:mailbox_detail", mailbox_id=mailbox.pk)
    try:
        mailboxes.mailbox_oauth_connect(
            mailbox=mailbox, code=code, redirect_uri=_oauth_redirect_uri(request)
        )
    except oauth.OAuthError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Connected. Test the mailbox to check it signs in."))
    return redirect("tracking:mailbox_detail", mailbox_id=mailbox.pk)
