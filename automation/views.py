"""The A/B test page of a campaign: each variant's figures, the verdict, the winner, and the
button that chooses it by hand. Reached from the campaign and report pages by URL name."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.access import access_of, or_404, workspace_view
from accounts.confirm import confirm_page, is_confirmed
from accounts.models import Role
from automation.ab_reports import ab_report, ab_test_get
from automation.choices import ab_test_choose_by_hand
from campaigns.ab_tests import SENDS_TO_REST
from campaigns.models import AbTestState
from campaigns.services import CampaignError, CampaignNotReady
from core.digits import is_number


@workspace_view()
def ab_test_report(request: HttpRequest, campaign_id: int) -> HttpResponse:
    access = access_of(request)
    report = or_404(ab_report(access.workspace, campaign_id))
    can_choose = (
        access.allows(Role.EDITOR)
        and report.test.state == AbTestState.TESTING
        and report.campaign.status in SENDS_TO_REST
    )
    return render(
        request,
        "automation/ab_test_report.html",
        {"report": report, "campaign": report.campaign, "can_choose": can_choose},
    )


@workspace_view(Role.EDITOR)
@require_POST
def ab_test_choose(request: HttpRequest, campaign_id: int) -> HttpResponse:
    workspace = access_of(request).workspace
    test = or_404(ab_test_get(workspace, campaign_id))
    position = request.POST.get("position", "")
    try:
        if not is_number(position):
            raise CampaignNotReady(_("This campaign has no such A/B test variant."))
        if not is_confirmed(request):
            return _confirm_choice(request, campaign_id, int(position))
        created = ab_test_choose_by_hand(test=test, position=int(position))
    except CampaignError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext(
                "Winner chosen: it goes to %(count)d more recipient.",
                "Winner chosen: it goes to %(count)d more recipients.",
                created,
            )
            % {"count": created},
        )
    return redirect("automation:ab_test", campaign_id=campaign_id)


def _confirm_choice(request: HttpRequest, campaign_id: int, position: int) -> HttpResponse:
    """Choosing by hand cannot be taken back: say so, and say when the figures do not yet
    show that the chosen variant is better."""
    report = or_404(ab_report(access_of(request).workspace, campaign_id))
    chosen = next((v for v in report.variants if v.position == position), None)
    if chosen is None:
        raise CampaignNotReady(_("This campaign has no such A/B test variant."))
    losses = [
        _(
            "Variant %(label)s (%(value)s) goes to the rest of the audience now. The test ends: "
            "the other variants are sent to no one else, and the choice cannot be taken back."
        )
        % {"label": chosen.label, "value": chosen.value}
    ]
    verdict = report.verdict
    if verdict is not None and not verdict.significant:
        losses.append(
            _("The figures do not show yet that one variant is better: %(verdict)s")
            % {"verdict": verdict.sentence}
        )
    elif verdict is not None and verdict.leader.position != chosen.position:
        losses.append(
            _("Variant %(label)s is not the one the figures favour: %(verdict)s")
            % {"label": chosen.label, "verdict": verdict.sentence}
        )
    return confirm_page(
        request,
        title=_("Send variant %(label)s to the rest now?") % {"label": chosen.label},
        losses=losses,
        action_label=_("Send %(label)s to the rest") % {"label": chosen.label},
        cancel_url=reverse("automation:ab_test", kwargs={"campaign_id": campaign_id}),
    )
