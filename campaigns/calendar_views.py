"""The campaign calendar: a month or a week of campaigns, and moving a scheduled one.

Days are the workspace's; the week starts as the visitor's language says (Django's
FIRST_DAY_OF_WEEK). Moving works without JavaScript through a small form; the page's script
(static/js/calendar.js) posts the same form when a campaign is dropped on another day and asks
for JSON, then htmx re-renders the calendar.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import access_of, or_404, workspace_view
from accounts.models import Role, Workspace
from campaigns import selectors
from campaigns.calendar_days import campaigns_by_day, month_weeks, week_days
from campaigns.calendar_forms import RescheduleForm
from campaigns.models import Campaign, CampaignStatus
from campaigns.rescheduling import campaign_reschedule, local_moment
from campaigns.services import CampaignError

VIEWS = ("month", "week")


def _today(workspace: Workspace) -> date:
    return timezone.now().astimezone(workspace.zone).date()


def _first_weekday() -> int:
    return int(formats.get_format("FIRST_DAY_OF_WEEK"))


def _calendar_url(view: str, day: date) -> str:
    query = urlencode({"view": view, "day": day.isoformat()})
    return f"{reverse('campaigns:calendar')}?{query}"


def _shifted_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def calendar_context(request: HttpRequest, view: str, day: date) -> dict[str, Any]:
    """The grid of `view` around `day`, with its campaigns and the navigation's targets."""
    workspace = access_of(request).workspace
    first_weekday = _first_weekday()
    if view == "month":
        weeks = month_weeks(day.year, day.month, first_weekday)
        before, after = _shifted_month(day, -1), _shifted_month(day, 1)
    else:
        weeks = [week_days(day, first_weekday)]
        before, after = day - timedelta(days=7), day + timedelta(days=7)
    days = [d for week in weeks for d in week]
    entries = campaigns_by_day(workspace, days)
    return {
        "view": view,
        "day": day,
        "today": _today(workspace),
        "weekdays": weeks[0],
        "weeks": [[(d, entries.get(d, [])) for d in week] for week in weeks],
        "time_zone": workspace.time_zone,
        "here": _calendar_url(view, day),
        "previous_url": _calendar_url(view, before),
        "next_url": _calendar_url(view, after),
        "today_url": _calendar_url(view, _today(workspace)),
        "month_url": _calendar_url("month", day),
        "week_url": _calendar_url("week", day),
    }


@workspace_view()
def calendar(request: HttpRequest) -> HttpResponse:
    """`?view=month|week&day=YYYY-MM-DD`; htmx asks for the calendar part alone."""
    view = request.GET.get("view", "month")
    view = view if view in VIEWS else "month"
    day = _parse_day(request.GET.get("day", "")) or _today(access_of(request).workspace)
    context = calendar_context(request, view, day)
    if request.headers.get("HX-Request"):
        return render(request, "campaigns/_calendar.html", context)
    return render(request, "campaigns/calendar.html", context)


def _parse_day(raw: str) -> date | None:
    try:
        day = parse_date(raw.strip())
    except ValueError:
        return None
    return day if day and date(1900, 1, 1) <= day <= date(9000, 12, 31) else None


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@workspace_view(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def campaign_reschedule_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The form that moves a scheduled campaign (GET shows it); the calendar's drag posts it
    with `Accept: application/json` and gets `{"ok": true}` or 400 `{"error": ...}`."""
    campaign = or_404(selectors.campaign_get(access_of(request).workspace, campaign_id))
    if request.method != "POST":
        local = (campaign.scheduled_at or timezone.now()).astimezone(campaign.workspace.zone)
        form = RescheduleForm(initial={"date": local.date(), "time": local.time()})
        return _form_page(request, campaign, form)
    form = RescheduleForm(request.POST)
    error = ""
    if form.is_valid():
        starts_at = local_moment(form.cleaned_data["date"], form.cleaned_data["time"], campaign)
        try:
            campaign_reschedule(campaign=campaign, starts_at=starts_at)
        except CampaignError as exc:
            error = _(str(exc))  # the form's checks say English, marked for the catalog
        else:
            return _moved(request, campaign, form.cleaned_data["date"])
    else:
        error = _("Enter a date and a time.")
    if _wants_json(request):
        return JsonResponse({"error": error}, status=400)
    form.add_error(None, error)
    return _form_page(request, campaign, form, status=400)


def _moved(request: HttpRequest, campaign: Campaign, day: date) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": True})
    messages.success(request, _("Campaign moved: it starts at its new time."))
    return redirect(_calendar_url("month", day))


def _local_day(campaign: Campaign) -> date:
    return (campaign.scheduled_at or timezone.now()).astimezone(campaign.workspace.zone).date()


def _form_page(
    request: HttpRequest, campaign: Campaign, form: RescheduleForm, status: int = 200
) -> HttpResponse:
    context = {
        "campaign": campaign,
        "form": form,
        "time_zone": campaign.workspace.time_zone,
        "movable": campaign.status == CampaignStatus.SCHEDULED,
        "calendar_url": _calendar_url("month", _local_day(campaign)),
    }
    return render(request, "campaigns/reschedule.html", context, status=status)
