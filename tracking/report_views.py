"""Report pages: a campaign's report (and its CSV parts), a recipient's timeline, and the
workspace's bounce and complaint rates shown on the dashboard.

They live in tracking, not campaigns or audience, because they read tracking's events and the
layers let only tracking look down at campaigns and audience. The pages below (the campaign
page, the recipient page, the dashboard) reach these by URL name only.
"""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import access_of, or_404, workspace_view
from audience.selectors import recipient_get
from campaigns.csv_export import streamed
from campaigns.selectors import campaign_get, campaign_resends, campaign_resent_from
from core.keyset import page_from
from tracking import reports, resends, selectors

PER_PAGE = 50


@workspace_view()
def campaign_report(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = or_404(campaign_get(access_of(request).workspace, campaign_id))
    report = reports.campaign_report_cached(campaign)
    return render(
        request,
        "tracking/campaign_report.html",
        {
            "campaign": campaign,
            "report": report,
            "s": report.summary,
            "chart": report.hours.chart(),
            "parts": reports.CSV_PARTS,
            "resend_options": resends.resend_options_cached(campaign),
            "resent_from": campaign_resent_from(campaign.workspace, campaign),
            "resends": list(campaign_resends(campaign.workspace, campaign)),
        },
    )


@workspace_view()
def campaign_report_csv(request: HttpRequest, campaign_id: int, part: str) -> HttpResponse:
    if part not in reports.CSV_PARTS:
        raise Http404("No such part of the report.")
    campaign = or_404(campaign_get(access_of(request).workspace, campaign_id))
    rows = reports.report_csv_rows(campaign, part)
    return streamed(iter(rows), f"campaign-{campaign.pk}-{part}")


@workspace_view()
def campaign_replies(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The replies found for a campaign's deliveries, newest first, a page at a time through
    the (campaign, kind, time) index: neither counted nor skipped over, however many."""
    workspace = access_of(request).workspace
    campaign = or_404(campaign_get(workspace, campaign_id))
    replies = selectors.campaign_replies(workspace, campaign)
    page = page_from(replies, request.GET, key="occurred_at", size=PER_PAGE)
    return render(request, "tracking/campaign_replies.html", {"campaign": campaign, "page": page})


@workspace_view()
def recipient_timeline(request: HttpRequest, recipient_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    recipient = or_404(recipient_get(workspace, recipient_id))
    page = reports.recipient_timeline(
        workspace,
        recipient,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        per_page=PER_PAGE,
    )
    return render(
        request, "tracking/recipient_timeline.html", {"recipient": recipient, "page": page}
    )


@workspace_view()
def deliverability(request: HttpRequest) -> HttpResponse:
    """The dashboard's card of bounce and complaint rates, loaded into it by htmx."""
    rates = reports.workspace_rates(access_of(request).workspace, now=timezone.now())
    return render(
        request,
        "tracking/_deliverability.html",
        {
            "rates": rates,
            "chart_json": json.dumps(rates.chart()),
            "bounce_limit": reports.BOUNCE_LIMIT,
            "complaint_limit": reports.COMPLAINT_LIMIT,
        },
    )
