"""`/api/campaigns/{campaign_id}/report/`: every figure of the campaign's report page."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import WorkspaceRole, api_access
from campaigns.selectors import campaign_get
from tracking import reports


def report_body(report: reports.Report) -> dict[str, Any]:
    return {
        "computed_at": report.computed_at,
        "summary": report.summary.as_dict(),
        "hours": {
            "start": report.hours.start,
            "opens_human": report.hours.opens,
            "clicks_human": report.hours.clicks,
        },
        "links": [asdict(link) for link in report.links],
        "domains": [{"domain": r.key, **r.as_dict()} for r in report.domains],
        "accounts": [
            {"account": r.key, "account_id": r.extra.get("account_id"), **r.as_dict()}
            for r in report.accounts
        ],
    }


class CampaignReportApi(APIView):
    """The figures, the first 48 hours, clicks per link, per receiving domain and per account.
    Opens and clicks are unique per delivery; `_human` leaves out privacy proxies and link
    scanners, `_all` keeps them; rates are percentages of delivered messages."""

    permission_classes = (WorkspaceRole,)

    @extend_schema(
        tags=["campaigns"],
        summary="The campaign's report: opens, clicks, bounces, complaints, per domain",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = campaign_get(api_access(request).workspace, campaign_id)
        if campaign is None:
            raise NotFound(_("No such campaign."))
        return Response(report_body(reports.campaign_report_cached(campaign)))
