"""Writes for campaigns: create, start (content frozen, audience launched), pause, resume,
cancel. Pause, resume and cancel only change the campaign's status, which the claim query
respects, so they act within one batch of the worker, wherever it runs.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audience.selectors import placeholder_names
from campaigns import dashboard
from campaigns.engine import launch as launcher
from campaigns.frozen_files import freeze_attachments
from campaigns.models import (
    OPEN,
    WAITING,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ScheduleMode,
)
from campaigns.signals import campaign_status_changed
from campaigns.transitions import TransitionError, next_status
from content.models import Template
from content.rendering import TemplateParts, compile_template
from content.syntax import ContentError


class CampaignError(Exception):
    """A refusal with a message fit to show to the user."""


def _move(campaign: Campaign, action: str, now: datetime, reason: str = "") -> None:
    previous = campaign.status
    try:
        campaign.status = next_status(campaign.status, action)
    except TransitionError as exc:
        raise CampaignError(str(exc)) from exc
    campaign.status_changed_at = now
    campaign.status_reason = reason
    fields = ["status", "status_changed_at", "status_reason"]
    if campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
        campaign.finished_at = now
        fields.append("finished_at")
    campaign.save(update_fields=fields)
    campaign_status_changed.send(
        Campaign, campaign=campaign, previous=previous, action=action, at=now
    )


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)


def freeze_content(campaign: Campaign, template: Template) -> dict[str, object]:
    """The template's content as it is now; raises CampaignError if it does not compile."""
    parts = {
        "template_id": template.pk,
        "template_name": template.name,
        "subject": template.subject,
        "html": template.html_body,
        "text": template.text_body,
        "text_from_html": template.text_from_html,
    }
    try:
        compile_template(
            TemplateParts(
                subject=template.subject,
                html=template.html_body,
                text=template.text_body,
                text_from_html=template.text_from_html,
            ),
            allowed=placeholder_names(campaign.workspace),
        )
    except ContentError as exc:
        raise CampaignError(f"The template “{template.name}” has an error: {exc}") from exc
    return parts


@transaction.atomic
def campaign_start(*, campaign: Campaign, now: datetime | None = None) -> launcher.LaunchResult:
    """Freeze the content, move to running and create the deliveries (due at once).

    Raises CampaignError when the campaign cannot start (state, no template, no account,
    a template that does not compile).
    """
    now = now or timezone.now()
    campaign = _locked(campaign)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        raise CampaignError(f"A {campaign.get_status_display().lower()} campaign cannot start.")
    template = (
        Template.objects.filter(workspace=campaign.workspace, pk=campaign.template_id).first()
        if campaign.template_id is not None
        else None
    )
    if template is None:
        raise CampaignError("Choose a template first.")
    if not campaign.accounts.exists():
        raise CampaignError("Choose at least one sending account.")
    content = freeze_content(campaign, template)
    try:  # the files too: editing the template's attachments later changes nothing here
        content["attachments"] = freeze_attachments(campaign, template)
    except ContentError as exc:
        raise CampaignError(str(exc)) from exc
    campaign.content = content
    campaign.save(update_fields=["content"])
    _move(campaign, "start", now)
    return launcher.launch(campaign=campaign, now=now)


@transaction.atomic
def campaign_pause(*, campaign: Campaign, reason: str = "") -> Campaign:
    """Stop new messages; those already handed to a server finish. Deliveries keep waiting."""
    campaign = _locked(campaign)
    _move(campaign, "pause", timezone.now(), reason)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    campaign = _locked(campaign)
    _move(campaign, "resume", timezone.now())
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> int:
    """Cancel: every delivery not yet sent (or being sent) ends `cancelled`. Returns how many."""
    campaign = _locked(campaign)
    now = timezone.now()
    _move(campaign, "cancel", now)
    return Delivery.objects.filter(campaign=campaign, status__in=WAITING).update(
        status=DeliveryStatus.CANCELLED, updated_at=now
    )


def campaigns_finish_done(*, now: datetime) -> int:
    """Complete every running campaign that has nothing left to send.

    A campaign whose sending window has closed ends too: what it could not send within the
    window ends `expired`.
    """
    closed = Campaign.objects.filter(
        status=CampaignStatus.RUNNING, schedule_mode=ScheduleMode.WINDOW, window_end__lte=now
    )
    for campaign in closed:
        Delivery.objects.filter(campaign=campaign, status__in=WAITING).update(
            status=DeliveryStatus.EXPIRED,
            last_reply="The sending window closed before this could be sent.",
            updated_at=now,
        )
    done = Campaign.objects.filter(status=CampaignStatus.RUNNING).exclude(
        deliveries__status__in=OPEN
    )
    finished = 0
    for campaign in done:
        with transaction.atomic():
            locked = _locked(campaign)
            if (
                locked.status == CampaignStatus.RUNNING
                and not locked.deliveries.filter(status__in=OPEN).exists()
            ):
                _move(locked, "finish", now)
                finished += 1
        dashboard.invalidate(campaign.workspace_id)
    return finished


def campaigns_start_due(*, now: datetime) -> int:
    """Start scheduled campaigns whose time has come."""
    started = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now):
        try:
            campaign_start(campaign=campaign, now=now)
        except CampaignError as exc:
            Campaign.objects.filter(pk=campaign.pk).update(status_reason=str(exc)[:500])
        else:
            started += 1
    return started
