"""The platform console's campaigns (/platform/campaigns/): every workspace's campaigns,
filtered, and a manager's disable and enable. Anyone who is not a platform manager gets 404,
as on the rest of the console (accounts.platform_views.manager_view)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import or_404, user_of
from accounts.platform_views import manager_view
from campaigns import platform, selectors
from campaigns.models import CampaignStatus
from campaigns.services import CampaignError

PAGE_SIZE = 50


@manager_view
def index(request: HttpRequest) -> HttpResponse:
    flt = platform.PlatformCampaignFilter.from_params(request.GET)
    page = Paginator(platform.platform_campaigns(flt), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.list_counts(page.object_list)
    rows = [(c, selectors.progress_of_counts(counts.get(c.pk, {}))) for c in page]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "campaigns/platform/index.html",
        {
            "page": page,
            "rows": rows,
            "filter": flt,
            "statuses": CampaignStatus.choices,
            "query": params.urlencode(),
            "here": request.get_full_path(),
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    """To the list as the manager left it (its filters and page), never elsewhere."""
    back = request.POST.get("next", "")
    if back.startswith("/platform/campaigns/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect("platform_campaigns:index")


@manager_view
@require_POST
def disable(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = or_404(platform.platform_campaign_get(campaign_id))
    try:
        platform.campaign_disable(
            campaign=campaign, by=user_of(request), reason=request.POST.get("reason", "")
        )
    except CampaignError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Campaign “%(name)s” is disabled.") % {"name": campaign.name})
    return _back(request)


@manager_view
@require_POST
def enable(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = or_404(platform.platform_campaign_get(campaign_id))
    try:
        platform.campaign_enable(campaign=campaign, by=user_of(request))
    except CampaignError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Campaign “%(name)s” is enabled: its owner may start or resume it again.")
            % {"name": campaign.name},
        )
    return _back(request)
