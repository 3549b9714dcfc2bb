"""The report page's resend buttons: each asks first, saying how many it will reach, then
makes the draft resend and shows it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, user_of, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from campaigns.models import ResendKind
from campaigns.selectors import campaign_get
from tracking import resends


@require_POST
@workspace_view(Role.EDITOR)
def campaign_resend(request: HttpRequest, campaign_id: int, kind: str) -> HttpResponse:
    campaign = or_404(campaign_get(access_of(request).workspace, campaign_id))
    report = reverse("tracking:campaign_report", kwargs={"campaign_id": campaign.pk})
    why = resends.refusal(campaign, kind)
    subject = request.POST.get("subject", "").strip()
    if not why and kind == ResendKind.UNOPENED and not subject:
        why = _("Give the resend a new subject.")
    if why:
        messages.error(request, _(why))
        return redirect(report)
    include_previous = request.POST.get("include_previous") == "yes"
    if not is_confirmed(request):
        count = resends.candidates(campaign, kind, include_previous=include_previous).count()
        return confirm_page(
            request,
            title=_("Resend “%(name)s” to %(count)s recipients?")
            % {"name": campaign.name, "count": count},
            losses=[
                _(
                    "This makes a draft campaign for %(count)s recipients (%(kind)s), fixed "
                    "now. Nothing is sent until you start it; those suppressed or "
                    "unsubscribed by then are still left out."
                )
                % {"count": count, "kind": _(ResendKind(kind).label).lower()}
            ],
            action_label=_("Make the resend for %(count)s recipients") % {"count": count},
            cancel_url=report,
        )
    try:
        made = resends.campaign_resend(
            campaign=campaign,
            kind=kind,
            subject=subject,
            include_previous=include_previous,
            user=user_of(request),
            now=timezone.now(),
        )
    except resends.ResendError as exc:
        # Its messages are marked for the catalog (gettext_noop) and stay English in the API.
        messages.error(request, _(str(exc)))
        return redirect(report)
    messages.success(
        request, _("The resend is a draft for %(count)s recipients.") % {"count": made.recipients}
    )
    return redirect("campaigns:detail", campaign_id=made.campaign.pk)
