"""Platform managers and campaigns: every workspace's campaigns in one list, and disabling one.

A disabled campaign stops (running: paused; scheduled: back to draft) and nothing makes it
send again, neither its owner's start or resume (services.refuse_if_disabled) nor the engine
(it claims no delivery of a disabled campaign), until a manager enables it. Enabling only
lifts the ban: the owner decides whether to start or resume it.

These are the only reads that cross workspaces in campaigns; their views answer 404 to
anyone who is not a platform manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import services as audit
from accounts.models import User
from campaigns import dashboard
from campaigns.models import Campaign, CampaignStatus
from campaigns.services import CampaignNotAllowed, CampaignNotReady, move_status
from campaigns.transitions import FINAL
from core.digits import is_number

REASON_MAX = 500


@dataclass(frozen=True)
class PlatformCampaignFilter:
    """The list's filters: a state, the campaign's workspace and its creator (the owner),
    and words of its name or subject."""

    status: str = ""
    workspace_id: int | None = None
    owner: str = ""  # part of the creator's e-mail address
    q: str = ""
    disabled: bool = False  # only the disabled ones

    @classmethod
    def from_params(cls, params: Any) -> PlatformCampaignFilter:
        status = str(params.get("status") or "")
        workspace = str(params.get("workspace") or "").strip()
        return cls(
            status=status if status in CampaignStatus.values else "",
            workspace_id=int(workspace) if is_number(workspace) and len(workspace) < 19 else None,
            owner=str(params.get("owner") or "").strip()[:254],
            q=str(params.get("q") or "").strip()[:200],
            disabled=str(params.get("disabled") or "") in ("1", "true", "on"),
        )


def platform_campaigns(flt: PlatformCampaignFilter) -> QuerySet[Campaign]:
    """Every workspace's campaigns matching `flt`, newest first. For platform managers only:
    the callers check that the user is one."""
    campaigns = Campaign.objects.select_related("workspace", "created_by", "disabled_by")
    if flt.status:
        campaigns = campaigns.filter(status=flt.status)
    if flt.workspace_id is not None:
        campaigns = campaigns.filter(workspace_id=flt.workspace_id)
    if flt.owner:
        campaigns = campaigns.filter(created_by__email__icontains=flt.owner)
    if flt.q:
        campaigns = campaigns.filter(Q(name__icontains=flt.q) | Q(subject__icontains=flt.q))
    if flt.disabled:
        campaigns = campaigns.filter(disabled_at__isnull=False)
    return campaigns.order_by("-created_at", "-id")


def platform_campaign_get(campaign_id: int) -> Campaign | None:
    """Any workspace's campaign, for platform managers only (the callers check)."""
    return (
        Campaign.objects.select_related("workspace", "created_by", "disabled_by")
        .filter(pk=campaign_id)
        .first()
    )


@transaction.atomic
def campaign_disable(*, campaign: Campaign, by: User, reason: str) -> Campaign:
    """Stop `campaign` for its owner, with the reason they are shown: a running campaign is
    paused, a scheduled one goes back to draft (a launching one is paused once launched), and
    none of them may be started, scheduled or resumed until `campaign_enable`. Audited.

    Raises CampaignNotReady without a reason, CampaignNotAllowed for a finished campaign
    (it sends nothing any more) or one disabled already.
    """
    reason = " ".join(reason.split())[:REASON_MAX]
    if not reason:
        raise CampaignNotReady(_("Give the reason: the campaign's owner is shown it."))
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)
    if campaign.status in FINAL:
        raise CampaignNotAllowed(
            _("A finished campaign sends nothing more: there is nothing to disable."),
            status=campaign.status,
        )
    if campaign.disabled_at is not None:
        raise CampaignNotAllowed(_("This campaign is disabled already."), status=campaign.status)
    now = timezone.now()
    if campaign.status == CampaignStatus.RUNNING:
        move_status(campaign, "pause", now, reason)
    elif campaign.status == CampaignStatus.SCHEDULED:
        move_status(campaign, "unschedule", now, reason)
    campaign.disabled_at, campaign.disabled_by, campaign.disabled_reason = now, by, reason
    campaign.save(update_fields=["disabled_at", "disabled_by", "disabled_reason"])
    audit.record(
        "campaign.disabled", workspace=campaign.workspace, target=campaign, actor=by, reason=reason
    )
    dashboard.invalidate(campaign.workspace_id)
    return campaign


@transaction.atomic
def campaign_enable(*, campaign: Campaign, by: User) -> Campaign:
    """Lift a manager's disable: the owner may start or resume the campaign again (it stays
    as it is until they do). Audited. Raises CampaignNotAllowed if it is not disabled."""
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)
    if campaign.disabled_at is None:
        raise CampaignNotAllowed(_("This campaign is not disabled."), status=campaign.status)
    reason = campaign.disabled_reason
    campaign.disabled_at, campaign.disabled_by, campaign.disabled_reason = None, None, ""
    campaign.save(update_fields=["disabled_at", "disabled_by", "disabled_reason"])
    audit.record(
        "campaign.enabled",
        workspace=campaign.workspace,
        target=campaign,
        actor=by,
        disabled_for=reason,
    )
    return campaign
