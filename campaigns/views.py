"""Campaign pages: dashboard, list, editor, live progress and report, logs, single e-mails.

Views parse input, call one service or selector and render. Writes are POST only and need an
editor (the access guard); refusals of the services (CampaignError) become flash errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, user_of, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role, Workspace
from audience.segments import SegmentError
from audience.selectors import RecipientFilter, recipients_matching
from campaigns import dashboard as dashboard_figures
from campaigns import editing, selectors, services
from campaigns.csv_export import attempt_rows, delivery_rows, streamed
from campaigns.forms import CampaignForm, LogFilterForm, SingleEmailForm
from campaigns.models import (
    DEFAULT_LIFETIME_DAYS,
    LIFETIME_DAYS_MAX,
    Campaign,
    CampaignStatus,
    DeliveryStatus,
)
from campaigns.transitions import EDITABLE, allowed_actions
from core.digits import is_number

POLL_SECONDS = 3
# A launching campaign is polled until a worker has created its deliveries and it runs.
POLLED = (CampaignStatus.SCHEDULED, CampaignStatus.LAUNCHING, CampaignStatus.RUNNING)


def _ws(request: HttpRequest) -> Workspace:
    return access_of(request).workspace


# --------------------------------------------------------------------------- dashboard


@workspace_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    """The home page: cached figures (see campaigns.dashboard) and a 30-day chart."""
    figures = dashboard_figures.figures(_ws(request))
    return render(request, "campaigns/dashboard.html", {"figures": figures})


# --------------------------------------------------------------------------- campaigns


@workspace_view()
def index(request: HttpRequest) -> HttpResponse:
    """Campaigns newest first, one keyset page, with their progress: finished campaigns'
    counts kept on them (by the engine), one GROUP BY for the others."""
    workspace = _ws(request)
    page = selectors.campaigns_page(workspace, request.GET.get("after", ""))
    counts = selectors.list_counts(page.rows)
    rows = [(c, selectors.progress_of_counts(counts.get(c.pk, {}))) for c in page.rows]
    return render(request, "campaigns/index.html", {"page": page, "rows": rows})


def _picked_from(params: Any) -> dict[str, Any]:
    """The recipients table's filter carried in the query string ({} when there is none).

    The table names its list and segment filters `list` and `segment`; ids are the rows ticked.
    """
    values = {
        "q": params.get("q", ""),
        "status": params.get("status", ""),
        "list_id": params.get("list") or params.get("list_id", ""),
        "segment_id": params.get("segment") or params.get("segment_id", ""),
        "field": params.get("field", ""),
        "op": params.get("op", ""),
        "value": params.get("value", ""),
        "ids": [i for i in params.getlist("ids") if is_number(str(i))],
    }
    flt = RecipientFilter.from_params(values)
    return {} if flt.is_empty else flt.as_params()


def _picked_count(workspace: Workspace, picked: dict[str, Any]) -> int | None:
    if not picked:
        return None
    try:
        return recipients_matching(workspace, RecipientFilter.from_params(picked)).count()
    except (SegmentError, ValueError):
        return None


def _editor(request: HttpRequest, form: CampaignForm, campaign: Campaign | None) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "campaign": campaign}
    if form.fixed_audience and campaign is not None:
        context["fixed_count"] = selectors.fixed_audience_count(campaign)
    else:
        context["picked_count"] = _picked_count(_ws(request), _json_dict(form["picked"].value()))
    return render(request, "campaigns/form.html", context)


@workspace_view(Role.EDITOR)  # viewers get no form they cannot submit
def campaign_create(request: HttpRequest) -> HttpResponse:
    """A new campaign; `?q=…&list_id=…` (the recipients table's filter) pre-picks recipients."""
    workspace = _ws(request)
    if request.method != "POST":
        picked = _picked_from(request.GET)
        initial = {"picked": json.dumps(picked) if picked else ""}
        return _editor(request, CampaignForm(workspace=workspace, initial=initial), None)
    form = CampaignForm(request.POST, workspace=workspace)
    if form.is_valid():
        try:
            campaign = editing.campaign_create(
                workspace=workspace, user=user_of(request), data=form.data_()
            )
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Campaign saved as a draft."))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _editor(request, form, None)


@workspace_view()
def audience_preview(request: HttpRequest) -> HttpResponse:
    """Who the audience being edited reaches and who is left out (htmx, on each change)."""
    params = request.GET
    picked = {} if params.get("drop_picked") else _json_dict(params.get("picked"))
    context: dict[str, Any] = {}
    try:
        context["audience"] = selectors.audience_preview(
            _ws(request),
            list_ids=_ids(params.getlist("lists")),
            segment_ids=_ids(params.getlist("segments")),
            picked=picked,
        )
    except (SegmentError, ValueError) as exc:
        context["audience_error"] = str(exc)
    else:
        context.update(_capacity(_ws(request), _ids(params.getlist("accounts")), context))
        context["lifetime_days"] = _lifetime_days(params.get("lifetime_days"))
    return render(request, "campaigns/_audience.html", context)


def _capacity(
    workspace: Workspace, account_ids: list[int], context: dict[str, Any]
) -> dict[str, Any]:
    """What the chosen accounts can send today, for the warning beside the audience."""
    if not account_ids:
        return {}
    capacity = selectors.accounts_capacity(workspace, account_ids)
    return {"capacity": capacity, "capacity_days": capacity.days_for(context["audience"].reachable)}


def _lifetime_days(raw: str | None) -> int:
    """The lifetime typed in the form so far; the default while it is not a number of days."""
    try:
        days = int(raw or "")
    except ValueError:
        return DEFAULT_LIFETIME_DAYS
    return days if 1 <= days <= LIFETIME_DAYS_MAX else DEFAULT_LIFETIME_DAYS


def _json_dict(raw: object) -> dict[str, Any]:
    """A JSON object from a form value; {} for anything else (the form reports the error)."""
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if is_number(v)]


@workspace_view(Role.EDITOR)
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    workspace = _ws(request)
    campaign = or_404(selectors.campaign_get(workspace, campaign_id))
    if campaign.status not in EDITABLE:
        messages.error(request, _("Only draft and scheduled campaigns can be changed."))
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    if request.method != "POST":
        form = CampaignForm(
            workspace=workspace,
            initial=CampaignForm.initial_of(campaign),
            fixed_audience=campaign.has_fixed_audience,
        )
        return _editor(request, form, campaign)
    form = CampaignForm(
        request.POST, workspace=workspace, fixed_audience=campaign.has_fixed_audience
    )
    if form.is_valid():
        try:
            editing.campaign_update(campaign=campaign, data=form.data_())
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _editor(request, form, campaign)


@workspace_view()
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The campaign: audience figures before the start, live progress, then the report."""
    workspace = _ws(request)
    campaign = or_404(selectors.campaign_page_get(workspace, campaign_id))
    flt = selectors.DeliveryFilter.from_params(request.GET)
    # What the page shows of them: their secrets are neither read nor decrypted.
    accounts = list(campaign.accounts.only("pk", "workspace_id", "name", "from_email"))
    context: dict[str, Any] = {
        "campaign": campaign,
        "progress": selectors.campaign_progress(campaign),
        "poll": campaign.status in POLLED,
        "poll_seconds": POLL_SECONDS,
        "actions": _actions(campaign),
        "editable": campaign.status in EDITABLE,
        "page": selectors.deliveries_page(
            campaign, flt, request.GET.get("after", ""), known=accounts
        ),
        "filter": flt,
        "statuses": DeliveryStatus.choices,
        "query": _query_without(request, "after"),
        "accounts": accounts,
        "lists": list(campaign.lists.all()),
        "segments": list(campaign.segments.all()),
        "template_name": campaign.template_name,  # type: ignore[attr-defined]
        "resent_from": selectors.campaign_resent_from(workspace, campaign),
        "resends": list(selectors.campaign_resends(workspace, campaign)),
    }
    if campaign.status in EDITABLE:
        try:
            context["audience"] = selectors.campaign_audience(campaign)
        except SegmentError as exc:
            context["audience_error"] = str(exc)
        else:
            ids = [a.pk for a in context["accounts"]]
            context.update(_capacity(workspace, ids, context))
    return render(request, "campaigns/detail.html", context)


def _actions(campaign: Campaign) -> list[str]:
    """The buttons to offer. A scheduled campaign is not paused (it has sent nothing yet and
    resuming would start it at once): it goes back to draft instead."""
    actions = allowed_actions(campaign.status, disabled=campaign.disabled_at is not None)
    if campaign.status == CampaignStatus.SCHEDULED:
        actions = [a for a in actions if a != "pause"]
    return actions


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@workspace_view()
def campaign_progress(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The progress part of the page, polled by htmx while the campaign runs."""
    campaign = or_404(selectors.campaign_get(_ws(request), campaign_id))
    polling = campaign.status in POLLED
    context = {
        "campaign": campaign,
        "progress": selectors.campaign_progress(campaign),
        "poll": polling,
        "poll_seconds": POLL_SECONDS,
    }
    response = render(request, "campaigns/_progress.html", context)
    seen = request.GET.get("status", "")
    if request.headers.get("HX-Request") and (not polling or seen != campaign.status):
        # Reload once, so the report, the buttons and the final figures appear together
        # (and when a launch ends: sending has started, or the launch failed).
        response["HX-Refresh"] = "true"
    return response


Action = Callable[[Campaign], object]
ACTIONS: dict[str, tuple[Action, str]] = {
    "start": (
        lambda c: editing.campaign_start_as_planned(campaign=c),
        gettext_noop(
            "Campaign started. Its deliveries are being prepared; sending begins in a moment."
        ),
    ),
    "unschedule": (
        lambda c: editing.campaign_unschedule(campaign=c),
        gettext_noop("Back to draft."),
    ),
    "pause": (lambda c: services.campaign_pause(campaign=c), gettext_noop("Campaign paused.")),
    "resume": (lambda c: services.campaign_resume(campaign=c), gettext_noop("Campaign resumed.")),
    "cancel": (lambda c: services.campaign_cancel(campaign=c), gettext_noop("Campaign cancelled.")),
}


@workspace_view(Role.EDITOR)
@require_POST
def campaign_action(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    """Start (or schedule), unschedule, pause, resume or cancel; refusals are flash errors."""
    campaign = or_404(selectors.campaign_get(_ws(request), campaign_id))
    if action == "cancel" and not is_confirmed(request):
        return _confirm_cancel(request, campaign)
    run, done = ACTIONS[action]
    try:
        result = run(campaign)
    except services.CampaignError as exc:
        messages.error(request, str(exc))
    except SegmentError as exc:
        messages.error(
            request, _("A segment of this campaign cannot be used: %(error)s") % {"error": exc}
        )
    else:
        if result == CampaignStatus.SCHEDULED:
            done = gettext_noop("Campaign scheduled: it starts at its time.")
        dashboard_figures.invalidate(campaign.workspace_id)
        messages.success(request, _(done))
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@workspace_view(Role.EDITOR)
@require_POST
def campaign_archive(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Show the campaign in the public archive or not, in any state (its values stay)."""
    campaign = or_404(selectors.campaign_get(_ws(request), campaign_id))
    shown = request.POST.get("archived") == "on"
    editing.campaign_set_archive(campaign=campaign, archived=shown)
    messages.success(
        request,
        _("The campaign is shown in the public archive once sent.")
        if shown
        else _("The campaign is not shown in the public archive."),
    )
    return redirect("campaigns:detail", campaign_id=campaign.pk)


def _confirm_cancel(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    held = selectors.campaign_holdings(campaign)
    stop = _("Cancelling stops “%(name)s” for good: it cannot be resumed or started again.") % {
        "name": campaign.name
    }
    if not held.deliveries:  # scheduled, not launched yet
        return confirm_page(
            request,
            title=_("Cancel “%(name)s”?") % {"name": campaign.name},
            losses=[stop, _("It has not started: nothing will be sent.")],
            action_label=_("Cancel the campaign"),
            cancel_url=reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}),
        )
    losses = [
        stop,
        ngettext(
            "%(n)s message still waiting will not be sent.",
            "%(n)s messages still waiting will not be sent.",
            held.waiting,
        )
        % {"n": f"{held.waiting:,}"},
        ngettext(
            "%(n)s message already sent stays sent.",
            "%(n)s messages already sent stay sent.",
            held.sent,
        )
        % {"n": f"{held.sent:,}"},
    ]
    return confirm_page(
        request,
        title=_("Cancel “%(name)s”?") % {"name": campaign.name},
        losses=losses,
        action_label=_("Cancel the campaign"),
        cancel_url=reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}),
    )


def _confirm_delete(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    held = selectors.campaign_holdings(campaign)
    losses = [
        _(
            "This deletes the campaign “%(name)s” and its report: %(deliveries)s and "
            "%(attempts)s, with their replies and Message-IDs."
        )
        % {
            "name": campaign.name,
            "deliveries": ngettext("%(n)s delivery", "%(n)s deliveries", held.deliveries)
            % {"n": f"{held.deliveries:,}"},
            "attempts": ngettext("%(n)s attempt", "%(n)s attempts", held.attempts)
            % {"n": f"{held.attempts:,}"},
        },
        _("Its figures leave the dashboard and the logs. Recipients and templates stay."),
    ]
    return confirm_page(
        request,
        title=_("Delete “%(name)s”?") % {"name": campaign.name},
        losses=losses,
        action_label=_("Delete the campaign and its report"),
        cancel_url=reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}),
    )


@workspace_view(Role.EDITOR)
@require_POST
def campaign_delete(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = or_404(selectors.campaign_get(_ws(request), campaign_id))
    # A campaign that may be sending is refused below, without a question first.
    sending = campaign.status in (
        CampaignStatus.LAUNCHING,
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
    )
    if not sending and not is_confirmed(request):
        return _confirm_delete(request, campaign)
    try:
        editing.campaign_delete(campaign=campaign)
    except services.CampaignError as exc:
        messages.error(request, str(exc))
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    messages.success(request, _("Campaign “%(name)s” deleted.") % {"name": campaign.name})
    return redirect("campaigns:index")


@workspace_view()
def campaign_deliveries_csv(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Every delivery of the campaign (the filter applies), streamed as CSV."""
    campaign = or_404(selectors.campaign_get(_ws(request), campaign_id))
    flt = selectors.DeliveryFilter.from_params(request.GET)
    qs = selectors.deliveries_matching(campaign, flt)
    return streamed(delivery_rows(qs), f"campaign-{campaign.pk}-deliveries")


# --------------------------------------------------------------------------- logs


def _log_filter(request: HttpRequest) -> tuple[LogFilterForm, selectors.AttemptFilter]:
    workspace = _ws(request)
    form = LogFilterForm(request.GET or None, workspace=workspace)
    if not form.is_valid():
        return form, selectors.AttemptFilter()
    c = form.cleaned_data
    zone = workspace.zone
    since = datetime.combine(c["since"], time.min, tzinfo=zone) if c.get("since") else None
    until = (
        datetime.combine(c["until"] + timedelta(days=1), time.min, tzinfo=zone)
        if c.get("until")
        else None
    )
    flt = selectors.AttemptFilter(
        campaign_id=c.get("campaign"),
        outcome=c.get("outcome") or "",
        account_id=c.get("account"),
        email=(c.get("email") or "").strip(),
        since=since,
        until=until,
    )
    return form, flt


@workspace_view()
def logs(request: HttpRequest) -> HttpResponse:
    """Every attempt of the workspace, newest first (djangoMailer's /logs/).

    With `export=csv` it streams every attempt the filter selects instead of one page.
    """
    form, flt = _log_filter(request)
    if request.GET.get("export") == "csv":
        return streamed(attempt_rows(selectors.attempts_matching(_ws(request), flt)), "attempts")
    page = selectors.attempts_page(_ws(request), flt, request.GET.get("after", ""))
    context = {"form": form, "page": page, "query": _query_without(request, "after", "export")}
    return render(request, "campaigns/logs.html", context)


# --------------------------------------------------------------------------- single e-mails


@workspace_view()
def emails(request: HttpRequest) -> HttpResponse:
    """The queue of single e-mails, newest first."""
    page = selectors.singles_page(_ws(request), request.GET.get("after", ""))
    return render(request, "campaigns/emails.html", {"page": page})


@workspace_view(Role.EDITOR)
def email_create(request: HttpRequest) -> HttpResponse:
    """Queue one e-mail to one recipient (djangoMailer's "queue single email")."""
    workspace = _ws(request)
    # `?email=` pre-fills the recipient (a link from a recipient's page, say).
    initial = {"email": request.GET.get("email", "")}
    form = SingleEmailForm(request.POST or None, workspace=workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            campaign = editing.email_queue_single(
                workspace=workspace,
                user=user_of(request),
                recipient=c["email"],
                template_id=c.get("template"),
                account_id=c.get("account"),
                send_at=c.get("send_at"),
            )
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("E-mail to %(email)s queued.") % {"email": c["email"].email}
            )
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return render(request, "campaigns/email_form.html", {"form": form})


@workspace_view(Role.EDITOR)
@require_POST
def delivery_send_now(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """Make a waiting message due at once (djangoMailer's send_now)."""
    delivery = or_404(selectors.delivery_get(_ws(request), delivery_id))
    try:
        editing.delivery_send_now(delivery=delivery)
    except services.CampaignError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The message to %(email)s goes out with the next round.") % {"email": delivery.email},
        )
    target = request.POST.get("next", "")
    if target == "emails":
        return redirect("campaigns:emails")
    return redirect("campaigns:detail", campaign_id=delivery.campaign_id)
