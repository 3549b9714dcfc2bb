"""Writes for campaigns: create, start (content frozen, audience launched), pause, resume,
cancel. Pause, resume and cancel only change the campaign's status, which the claim query
respects, so they act within one batch of the worker, wherever it runs.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audience.segments import SegmentError
from audience.selectors import placeholder_names
from campaigns import dashboard, tracked_links
from campaigns.engine import launch as launcher
from campaigns.frozen_files import copy_frozen_attachments, freeze_attachments
from campaigns.models import (
    OPEN,
    WAITING,
    AbTest,
    AbTestKind,
    AbTestState,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ScheduleMode,
    SentTally,
    Variant,
)
from campaigns.outbox import status_changed
from campaigns.reasons import LAUNCH_FAILED, NO_ACCOUNT, NO_TEMPLATE, TEMPLATE_ERROR
from campaigns.selectors import email_domain
from campaigns.transitions import SENDING_ACTIONS, TransitionError, next_status
from content.models import Template
from content.rendering import TemplateParts, compile_template
from content.syntax import ContentError
from core import reasons
from core.reasons import Reason, reason


class CampaignError(Exception):
    """A refusal with a message fit to show to the user. Raised as one of its two kinds, so
    that callers (the API's 409 against 400) need not read the campaign again to tell them
    apart.

    Raised with a registered Reason, the message is in the active language and `reason` keeps
    the code, so that a refusal stored for later (a scheduled start that could not happen) is
    shown in the language of whoever reads it, not the worker's.
    """

    def __init__(self, message: str | Reason) -> None:
        self.reason = message if isinstance(message, Reason) else None
        super().__init__(message if isinstance(message, str) else message.shown)


class CampaignNotAllowed(CampaignError):
    """The campaign's state does not allow the action (a running campaign cannot be edited,
    a cancelled one cannot resume). `status` is the state that refused it."""

    def __init__(self, message: str | Reason, *, status: str) -> None:
        super().__init__(message)
        self.status = status


class CampaignNotReady(CampaignError):
    """The state allows the action, but the campaign cannot take it yet: no template, no
    account, a template with an error, a time that has passed."""


class CampaignDisabled(CampaignNotAllowed):
    """A platform manager disabled the campaign: nothing may make it send until one enables
    it again (campaigns.platform)."""


def refuse_if_disabled(campaign: Campaign, action: str) -> None:
    """Raise CampaignDisabled if `action` would make a disabled campaign send."""
    if campaign.disabled_at is not None and action in SENDING_ACTIONS:
        raise CampaignDisabled(
            _(
                "A platform manager has disabled this campaign: “%(reason)s”. It cannot be "
                "started or resumed until a manager enables it again."
            )
            % {"reason": campaign.disabled_reason},
            status=campaign.status,
        )


def not_allowed_unless(campaign: Campaign, allowed: Collection[str], message: str | Reason) -> None:
    """Raise CampaignNotAllowed with `message` unless the campaign is in one of `allowed`."""
    if campaign.status not in allowed:
        raise CampaignNotAllowed(message, status=campaign.status)


def move_status(campaign: Campaign, action: str, now: datetime, reason: str | Reason = "") -> None:
    """The one way a campaign changes status: by an action its state allows (transitions),
    saved with when and why (free text, or a registered Reason that pages can translate),
    and told to the outbox in the same transaction."""
    previous = campaign.status
    refuse_if_disabled(campaign, action)
    try:
        campaign.status = next_status(campaign.status, action)
    except TransitionError as exc:
        raise CampaignNotAllowed(str(exc), status=previous) from exc
    campaign.status_changed_at = now
    text, campaign.status_reason_detail = reasons.stored(reason)
    campaign.status_reason = text[:500]
    fields = ["status", "status_changed_at", "status_reason", "status_reason_detail"]
    if campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
        campaign.finished_at = now
        fields.append("finished_at")
    campaign.save(update_fields=fields)
    status_changed(campaign, previous=previous, action=action, at=now)


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)


def freeze_content(
    campaign: Campaign, template: Template, *, first_link: int = 0
) -> dict[str, object]:
    """The template's content as it is now, its tracked links numbered from `first_link`;
    raises CampaignError if it does not compile."""
    subject = campaign.subject or template.subject
    parts = {
        "template_id": template.pk,
        "template_name": template.name,
        "subject": subject,
        "html": template.html_body,
        "text": template.text_body,
        "text_from_html": template.text_from_html,
    }
    try:
        compile_template(
            TemplateParts(
                subject=subject,
                html=template.html_body,
                text=template.text_body,
                text_from_html=template.text_from_html,
            ),
            allowed=placeholder_names(campaign.workspace),
        )
    except ContentError as exc:
        raise CampaignNotReady(
            reason(TEMPLATE_ERROR, template=template.name, problem=str(exc))
        ) from exc
    return parts | tracking_content(campaign, template, first_link=first_link)


def tracking_content(
    campaign: Campaign, template: Template, *, first_link: int = 0
) -> dict[str, object]:
    """The tracked HTML and text parts, their links and the campaign's tracking settings.

    Links are rewritten here, once, so that sending pays only for the token; with tracking
    off nothing is rewritten at all.
    """
    workspace = campaign.workspace
    opens = workspace.track_opens if campaign.track_opens is None else campaign.track_opens
    clicks = workspace.track_clicks if campaign.track_clicks is None else campaign.track_clicks
    tracked = tracked_links.rewrite(
        template.html_body, template.text_body, clicks=clicks, opens=opens, first=first_link
    )
    content: dict[str, object] = {"tracking": {"opens": opens, "clicks": clicks}}
    if opens or clicks:
        content |= {"html": tracked.html, "text": tracked.text}
    if tracked.links:
        content["links"] = [link.as_json() for link in tracked.links]
        content["utm"] = utm_of(campaign)
    return content


def utm_of(campaign: Campaign) -> dict[str, str]:
    return {
        "source": campaign.utm_source,
        "medium": campaign.utm_medium,
        "campaign": campaign.utm_campaign,
    }


@transaction.atomic
def campaign_start(*, campaign: Campaign, now: datetime | None = None) -> launcher.LaunchResult:
    """Freeze the content, move to running and create the deliveries (due at once), all in
    this transaction: for the clock's scheduled starts and the command line. A person's
    request uses `campaign_queue_launch` instead, which does not wait for the launch.

    Raises CampaignError when the campaign cannot start (state, no template, no account,
    a template that does not compile).
    """
    now = now or timezone.now()
    campaign = _locked(campaign)
    _freeze(campaign)
    move_status(campaign, "start", now)
    return launcher.launch(campaign=campaign, now=now)


@transaction.atomic
def campaign_queue_launch(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Freeze the content and move to launching; a worker creates the deliveries
    (`campaigns_launch_queued`), then the campaign runs. Returns at once, whatever the
    audience's size.

    Raises CampaignError when the campaign cannot start (as `campaign_start`).
    """
    now = now or timezone.now()
    campaign = _locked(campaign)
    _freeze(campaign)
    move_status(campaign, "queue", now)
    return campaign


def _freeze(campaign: Campaign) -> None:
    """Check that `campaign` (locked) can start and copy its template's content into it."""
    not_allowed_unless(
        campaign,
        (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
        _("A campaign that is %(status)s cannot start.")
        % {"status": campaign.get_status_display().lower()},
    )
    template = (
        Template.objects.filter(workspace=campaign.workspace, pk=campaign.template_id).first()
        if campaign.template_id is not None
        else None
    )
    if template is None:
        raise CampaignNotReady(reason(NO_TEMPLATE))
    if not campaign.accounts.exists():
        raise CampaignNotReady(reason(NO_ACCOUNT))
    sent = _content_to_resend(campaign)
    try:  # the files too: editing the template's attachments later changes nothing here
        if sent is not None:
            content = _resent_content(campaign, sent)
            content["attachments"] = copy_frozen_attachments(campaign, sent.get("attachments", []))
        else:
            content = freeze_content(campaign, template)
            content["attachments"] = freeze_attachments(campaign, template)
            content |= _frozen_variants(campaign, content)
    except ContentError as exc:
        raise CampaignNotReady(str(exc)) from exc
    campaign.content = content
    campaign.save(update_fields=["content"])


def _frozen_variants(campaign: Campaign, content: dict[str, Any]) -> dict[str, Any]:
    """A whole-content A/B test's variants B onwards, frozen as the campaign's own content
    (variant A) is: `{"variants": {variant id: content}}`, and the campaign's one list of
    links, each variant's numbered on from those of the variants before it (so a click's
    `/c/<token>/<n>` resolves as ever). Renames the variants after their templates.

    Raises CampaignNotReady naming the variant whose template is gone or does not compile;
    ContentError when a file of one cannot be read.
    """
    test = AbTest.objects.filter(
        campaign_id=campaign.pk, kind=AbTestKind.CONTENT, state=AbTestState.PLANNED
    ).first()
    if test is None:
        return {}
    links = list(content.get("links", []))
    frozen: dict[str, Any] = {}
    for variant in Variant.objects.filter(campaign_id=campaign.pk).order_by("position"):
        name = str(content.get("template_name", ""))
        if variant.position > 0:
            template = (
                Template.objects.filter(
                    workspace=campaign.workspace, pk=variant.template_id
                ).first()
                if variant.template_id is not None
                else None
            )
            if template is None:
                raise CampaignNotReady(
                    _("Variant %(label)s: its template no longer exists; choose another one.")
                    % {"label": variant.label}
                )
            try:
                part = freeze_content(campaign, template, first_link=len(links))
            except CampaignNotReady as exc:
                raise CampaignNotReady(
                    _("Variant %(label)s: %(problem)s") % {"label": variant.label, "problem": exc}
                ) from exc
            links += cast(list[Any], part.pop("links", []))
            part.pop("utm", None)
            part["attachments"] = freeze_attachments(campaign, template)
            frozen[str(variant.pk)] = part
            name = template.name
        Variant.objects.filter(pk=variant.pk).update(value=name[:998])
    more: dict[str, Any] = {"variants": frozen}
    if links:
        more |= {"links": links, "utm": utm_of(campaign)}
    return more


def _content_to_resend(campaign: Campaign) -> dict[str, Any] | None:
    """What the campaign a resend resends went out with, while the resend still has its
    template and its tracking: a resend sends the message its recipients missed, not the
    template as it was edited since. None for any other campaign (it freezes its template)."""
    original = campaign.resent_from
    sent = original.content if original is not None else None
    if not sent or sent.get("template_id") != campaign.template_id:
        return None
    workspace = campaign.workspace
    opens = workspace.track_opens if campaign.track_opens is None else campaign.track_opens
    clicks = workspace.track_clicks if campaign.track_clicks is None else campaign.track_clicks
    if sent.get("tracking", {}) != {"opens": opens, "clicks": clicks}:
        return None  # its links were rewritten for other tracking: the template is frozen anew
    return dict(sent)


def _resent_content(campaign: Campaign, sent: dict[str, Any]) -> dict[str, Any]:
    """The sent content under the resend's own subject and UTM tags; raises ContentError
    when the new subject does not compile."""
    subject = campaign.subject or str(sent.get("subject", ""))
    compile_template(
        TemplateParts(subject=subject, html="", text=""),
        allowed=placeholder_names(campaign.workspace),
    )
    # A resend sends the campaign's own content; an A/B test's variants (and their files,
    # which are the first campaign's) stay with the first.
    content = {k: v for k, v in sent.items() if k not in ("attachments", "variants")}
    content["subject"] = subject
    if "utm" in content:
        content["utm"] = utm_of(campaign)
    return content


def campaigns_launch_queued(*, now: datetime) -> int:
    """Launch every campaign waiting in `launching`, each in its own transaction; returns how
    many now run.

    A campaign another worker is launching is skipped (its row is locked); a worker killed
    mid-launch leaves nothing behind (its transaction is rolled back) and the campaign is
    launched again by the next step. A segment that no longer compiles sends the campaign
    back to draft with the reason, nothing created.
    """
    launched = 0
    waiting = Campaign.objects.filter(status=CampaignStatus.LAUNCHING).order_by(
        "status_changed_at", "pk"
    )
    for pk in waiting.values_list("pk", flat=True):
        try:
            launched += _launch_queued(pk, now)
        except SegmentError as exc:
            problem = f"a segment of this campaign cannot be used: {str(exc).rstrip('.')}"
            _launch_failed(pk, now, problem)
    return launched


@transaction.atomic
def _launch_queued(pk: int, now: datetime) -> bool:
    campaign = (
        Campaign.objects.select_for_update(skip_locked=True)
        .select_related("workspace")
        .filter(pk=pk, status=CampaignStatus.LAUNCHING)
        .first()
    )
    if campaign is None:  # launched, cancelled, or being launched by another worker
        return False
    launcher.launch(campaign=campaign, now=now)
    move_status(campaign, "launched", now)
    if campaign.disabled_at is not None:  # disabled while launching: it waits, paused
        move_status(campaign, "pause", now, campaign.disabled_reason)
    dashboard.invalidate(campaign.workspace_id)
    return True


@transaction.atomic
def _launch_failed(pk: int, now: datetime, problem: str) -> None:
    campaign = Campaign.objects.select_for_update().select_related("workspace").get(pk=pk)
    if campaign.status != CampaignStatus.LAUNCHING:
        return
    move_status(campaign, "launch_failed", now, reason(LAUNCH_FAILED, problem=problem[:400]))
    dashboard.invalidate(campaign.workspace_id)


@transaction.atomic
def campaign_pause(*, campaign: Campaign, reason: str | Reason = "") -> Campaign:
    """Stop new messages; those already handed to a server finish. Deliveries keep waiting."""
    campaign = _locked(campaign)
    move_status(campaign, "pause", timezone.now(), reason)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    campaign = _locked(campaign)
    move_status(campaign, "resume", timezone.now())
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> int:
    """Cancel: every delivery not yet sent (or being sent) ends `cancelled`. Returns how many.
    A sequence's step is refused: its sequence would queue messages nobody sends."""
    campaign = _locked(campaign)
    if campaign.sequence_step:
        raise CampaignNotAllowed(
            _("This campaign sends a step of a sequence: pause the sequence instead."),
            status=campaign.status,
        )
    now = timezone.now()
    move_status(campaign, "cancel", now)
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
    # A campaign testing variants has the rest of its audience still to come (the winner).
    # A sequence's step gets its deliveries as recipients reach it: never done by itself.
    done = (
        Campaign.objects.filter(status=CampaignStatus.RUNNING, sequence_step=False)
        .exclude(deliveries__status__in=OPEN)
        .exclude(ab_test__state=AbTestState.TESTING)
    )
    finished = 0
    for campaign in done:
        with transaction.atomic():
            locked = _locked(campaign)
            if (
                locked.status == CampaignStatus.RUNNING
                and not locked.deliveries.filter(status__in=OPEN).exists()
                and not AbTest.objects.filter(
                    campaign_id=locked.pk, state=AbTestState.TESTING
                ).exists()
            ):
                move_status(locked, "finish", now)
                finished += 1
        dashboard.invalidate(campaign.workspace_id)
    return finished


def campaigns_freeze_counts(*, campaign_ids: list[int]) -> int:
    """Keep the delivery counts of finished campaigns with nothing in flight on the campaign
    (Campaign.final_counts), so that the list stops reading their deliveries. Returns how
    many were frozen; one not finished, or with a delivery still queued or being sent (a
    cancel leaves those in flight to end), is left for later.
    """
    frozen = 0
    for campaign_id in campaign_ids:
        rows = (
            Delivery.objects.filter(campaign_id=campaign_id)
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        counts: dict[str, int] = dict(rows)
        if any(counts.get(status) for status in OPEN):
            continue
        with transaction.atomic():
            kept = Campaign.objects.filter(
                pk=campaign_id,
                status__in=(CampaignStatus.COMPLETED, CampaignStatus.CANCELLED),
                final_counts__isnull=True,
            ).update(final_counts=counts)
            if kept:
                _keep_sent_tallies(campaign_id)
        frozen += kept
    return frozen


def _keep_sent_tallies(campaign_id: int) -> None:
    """The sent deliveries per (receiving domain, account) of a campaign being frozen: its
    report's sent figures from then on (SentTally)."""
    rows = (
        Delivery.objects.filter(campaign_id=campaign_id, sent_at__isnull=False)
        .annotate(domain=email_domain("email"))
        .order_by()
        .values_list("domain", "account_id")
        .annotate(n=Count("*"))
    )
    SentTally.objects.bulk_create(
        SentTally(campaign_id=campaign_id, domain=domain[:255], account_id=account, sent=n)
        for domain, account, n in rows
    )


# Finished campaigns whose counts one engine step freezes at most (each is one GROUP BY).
FREEZE_PER_STEP = 20


def campaigns_freeze_finished(*, limit: int = FREEZE_PER_STEP) -> int:
    """Freeze the counts of finished campaigns that nothing is in flight for any more. The
    engine's step calls it, so that the pages that show the counts only read; a campaign with
    a delivery still being sent is not even counted until that one ends."""
    in_flight = Delivery.objects.filter(campaign_id=OuterRef("pk"), status__in=OPEN)
    ready = (
        Campaign.objects.filter(
            status__in=(CampaignStatus.COMPLETED, CampaignStatus.CANCELLED),
            final_counts__isnull=True,
        )
        .filter(~Exists(in_flight))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(ready)
    return campaigns_freeze_counts(campaign_ids=ids) if ids else 0


def campaigns_start_due(*, now: datetime) -> int:
    """Start scheduled campaigns whose time has come."""
    started = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now):
        try:
            campaign_start(campaign=campaign, now=now)
        except CampaignError as exc:
            text, detail = reasons.stored(exc.reason or str(exc))
            Campaign.objects.filter(pk=campaign.pk).update(
                status_reason=text[:500], status_reason_detail=detail
            )
        else:
            started += 1
    return started
